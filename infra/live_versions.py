#!/usr/bin/env python3
"""Which version of each of a stack's functions its `live` alias points at, and putting them
back: how a deployment whose smoke test failed is rolled back (.github/workflows/ci.yml).

    live_versions.py record <stack> <file>    write {function name: version} of every function
    live_versions.py restore <file>           point each function's `live` alias back there

SAM publishes a version per deployment and API Gateway calls the `live` alias, so pointing the
alias back restores the code and configuration (environment, memory, timeout) that served
before; IAM policies and other resources are not versioned and stay as deployed. Uses boto3
(installed with the SAM CLI); credentials and region come from the environment.
"""

import json
import sys

import boto3

ALIAS = "live"


def record(stack, cloudformation=None, lambda_=None):
    """{function name: version its `live` alias points at} for every function of `stack`."""
    cloudformation = cloudformation or boto3.client("cloudformation")
    lambda_ = lambda_ or boto3.client("lambda")
    versions = {}
    for page in cloudformation.get_paginator("list_stack_resources").paginate(StackName=stack):
        for resource in page["StackResourceSummaries"]:
            if resource["ResourceType"] != "AWS::Lambda::Function":
                continue
            name = resource["PhysicalResourceId"]
            try:
                alias = lambda_.get_alias(FunctionName=name, Name=ALIAS)
            except lambda_.exceptions.ResourceNotFoundException:
                continue  # a function without the alias (not deployed through SAM's)
            versions[name] = alias["FunctionVersion"]
    return versions


def restore(versions, lambda_=None):
    """Points each function's `live` alias at its recorded version; answers what moved."""
    lambda_ = lambda_ or boto3.client("lambda")
    moved = {}
    for name, version in sorted(versions.items()):
        current = lambda_.get_alias(FunctionName=name, Name=ALIAS)["FunctionVersion"]
        if current != version:
            lambda_.update_alias(FunctionName=name, Name=ALIAS, FunctionVersion=version)
            moved[name] = {"from": current, "to": version}
    return moved


def main(argv):
    if len(argv) == 3 and argv[0] == "record":
        versions = record(argv[1])
        with open(argv[2], "w") as out:
            json.dump(versions, out, indent=2, sort_keys=True)
        print(f"recorded the live versions of {len(versions)} functions of {argv[1]} in {argv[2]}")
        return 0
    if len(argv) == 2 and argv[0] == "restore":
        with open(argv[1]) as recorded:
            moved = restore(json.load(recorded))
        for name, change in moved.items():
            print(f"{name}: live {change['from']} -> {change['to']}")
        print(f"rolled back {len(moved)} functions")
        return 0
    print(__doc__, file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))

#!/usr/bin/env python3
"""Which version of each of a stack's functions its `live` alias points at, and putting them
back: how a deployment whose smoke test failed is rolled back (.github/workflows/ci.yml).

    live_versions.py record <stack> <file>    write {function name: version} of every function
                                              ({} when the stack does not exist yet)
    live_versions.py restore <file>           point each function's `live` alias back there
    live_versions.py check <stack>            fail unless every `live` alias is at its function's
                                              newest version (after a roll-back it is not, so a
                                              re-run that deploys nothing cannot pass the smoke
                                              test on the old code and promote the new one)

SAM publishes a version per deployment and API Gateway calls the `live` alias, so pointing the
alias back restores the code and configuration (environment, memory, timeout) that served
before; IAM policies and other resources are not versioned and stay as deployed. Uses boto3
(installed with the SAM CLI); credentials and region come from the environment.
"""

import json
import sys

import boto3

ALIAS = "live"


def functions(stack, cloudformation):
    """The physical names of `stack`'s functions; none when the stack does not exist."""
    try:
        for page in cloudformation.get_paginator("list_stack_resources").paginate(StackName=stack):
            for resource in page["StackResourceSummaries"]:
                if resource["ResourceType"] == "AWS::Lambda::Function":
                    yield resource["PhysicalResourceId"]
    except cloudformation.exceptions.ClientError as e:
        if "does not exist" not in str(e):
            raise


def live(name, lambda_):
    """The version `name`'s `live` alias points at; None without the alias."""
    try:
        return lambda_.get_alias(FunctionName=name, Name=ALIAS)["FunctionVersion"]
    except lambda_.exceptions.ResourceNotFoundException:
        return None


def record(stack, cloudformation=None, lambda_=None):
    """{function name: version its `live` alias points at} for every function of `stack`."""
    cloudformation = cloudformation or boto3.client("cloudformation")
    lambda_ = lambda_ or boto3.client("lambda")
    versions = {}
    for name in functions(stack, cloudformation):
        version = live(name, lambda_)
        if version is not None:  # a function without the alias is not deployed through SAM's
            versions[name] = version
    return versions


def behind(stack, cloudformation=None, lambda_=None):
    """{function name: (live version, newest version)} for each function whose `live` alias
    is not at its newest published version."""
    cloudformation = cloudformation or boto3.client("cloudformation")
    lambda_ = lambda_ or boto3.client("lambda")
    found = {}
    for name in functions(stack, cloudformation):
        version = live(name, lambda_)
        if version is None:
            continue
        published = [
            int(v["Version"])
            for page in lambda_.get_paginator("list_versions_by_function").paginate(FunctionName=name)
            for v in page["Versions"]
            if v["Version"].isdigit()
        ]
        newest = str(max(published)) if published else version
        if newest != version:
            found[name] = (version, newest)
    return found


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
    if len(argv) == 2 and argv[0] == "check":
        lagging = behind(argv[1])
        for name, (version, newest) in sorted(lagging.items()):
            print(f"{name}: live is {version}, the newest version is {newest} (rolled back?)")
        if lagging:
            print("the stage serves older versions than were deployed: deploy again to go on")
            return 1
        print(f"every live alias of {argv[1]} is at its newest version")
        return 0
    print(__doc__, file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))

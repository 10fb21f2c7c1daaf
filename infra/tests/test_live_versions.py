"""infra/live_versions.py against moto's Lambda and CloudFormation (run by `make test`)."""

import io
import json
import os
import sys
import zipfile

import boto3
from moto import mock_aws

sys.path.insert(0, os.path.join(os.path.dirname(__file__), ".."))
import live_versions  # noqa: E402

REGION = "ap-south-1"


def code():
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("bootstrap", "#!/bin/sh\n")
    return buffer.getvalue()


@mock_aws
def a_failed_deployment_is_rolled_back_to_the_versions_that_served_before():
    iam = boto3.client("iam", region_name=REGION)
    role = iam.create_role(RoleName="fn", AssumeRolePolicyDocument="{}")["Role"]["Arn"]
    cloudformation = boto3.client("cloudformation", region_name=REGION)
    lambda_ = boto3.client("lambda", region_name=REGION)
    functions = {
        logical: {
            "Type": "AWS::Lambda::Function",
            "Properties": {
                "FunctionName": f"stockroom-staging-{logical.lower()}",
                "Runtime": "provided.al2023",
                "Role": role,
                "Handler": "bootstrap",
                "Code": {"ZipFile": "x"},
            },
        }
        for logical in ("Auth", "Orders", "Unaliased")
    }
    cloudformation.create_stack(
        StackName="stockroom-staging", TemplateBody=json.dumps({"Resources": functions})
    )
    for name in ("stockroom-staging-auth", "stockroom-staging-orders"):
        first = lambda_.publish_version(FunctionName=name)["Version"]
        lambda_.create_alias(FunctionName=name, Name="live", FunctionVersion=first)

    before = live_versions.record("stockroom-staging", cloudformation, lambda_)
    assert before == {"stockroom-staging-auth": "1", "stockroom-staging-orders": "1"}, before

    # The deployment: the auth function gets a new version behind `live`; orders is unchanged.
    lambda_.update_function_code(FunctionName="stockroom-staging-auth", ZipFile=code())
    second = lambda_.publish_version(FunctionName="stockroom-staging-auth")["Version"]
    lambda_.update_alias(FunctionName="stockroom-staging-auth", Name="live", FunctionVersion=second)

    assert live_versions.behind("stockroom-staging", cloudformation, lambda_) == {}
    moved = live_versions.restore(before, lambda_)
    assert moved == {"stockroom-staging-auth": {"from": second, "to": "1"}}, moved
    live = lambda_.get_alias(FunctionName="stockroom-staging-auth", Name="live")
    assert live["FunctionVersion"] == "1", live
    # A second roll-back moves nothing.
    assert live_versions.restore(before, lambda_) == {}
    # Rolled back, the stage is behind what was deployed: a re-run that deploys nothing must
    # not pass the smoke test on the old code and promote the new code to production.
    lagging = live_versions.behind("stockroom-staging", cloudformation, lambda_)
    assert lagging == {"stockroom-staging-auth": ("1", second)}, lagging
    # A stack that does not exist yet (the first deployment) has nothing to record.
    assert live_versions.record("stockroom-new", cloudformation, lambda_) == {}


if __name__ == "__main__":
    os.environ.update(AWS_ACCESS_KEY_ID="test", AWS_SECRET_ACCESS_KEY="test", AWS_DEFAULT_REGION=REGION)
    for name in ("AWS_ENDPOINT_URL", "AWS_ENDPOINT_URL_LAMBDA", "AWS_ENDPOINT_URL_CLOUDFORMATION"):
        os.environ.pop(name, None)
    a_failed_deployment_is_rolled_back_to_the_versions_that_served_before()
    print("live_versions: a failed deployment is rolled back: ok")

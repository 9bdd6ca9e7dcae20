"""Each function's IAM policies as SAM expands the template (the translator `sam build` and
`sam deploy` use, from the aws-sam-translator package).

Usage: python sam_policies.py template.yaml
Prints JSON: {"<FunctionLogicalId>": {"role": "<RoleLogicalId>", "policies": [{"name": ...,
"document": {...}}], "managed": ["arn:..."]}}. Intrinsics (Ref, Fn::GetAtt, Fn::Sub) are left
for the caller to resolve against the resources it created.
"""

import json
import os
import sys

from samtranslator.translator.transform import transform
from samtranslator.yaml_helper import yaml_parse


class NoManagedPolicies:
    """The template names managed policies by ARN only, so the name-to-ARN map stays empty."""

    def load(self):
        return {}


def main(path):
    with open(path) as f:
        template = yaml_parse(f.read())
    # The translator needs an S3 location for code it does not read (sam validate does the same).
    for resource in template.get("Resources", {}).values():
        if resource.get("Type") == "AWS::Serverless::Function":
            resource.setdefault("Properties", {})["CodeUri"] = "s3://local/code.zip"
    os.environ.setdefault("AWS_DEFAULT_REGION", "us-east-1")
    resources = transform(template, {}, NoManagedPolicies())["Resources"]
    out = {}
    for logical_id, resource in resources.items():
        if resource["Type"] != "AWS::Lambda::Function":
            continue
        role_ref = resource["Properties"].get("Role", {})
        role_id = role_ref.get("Fn::GetAtt", [None])[0] if isinstance(role_ref, dict) else None
        role = resources.get(role_id, {}).get("Properties", {})
        if not role_id or not role:
            sys.exit(f"{logical_id}: its role is not a resource of this template")
        out[logical_id] = {
            "role": role_id,
            "policies": [
                {"name": p["PolicyName"], "document": p["PolicyDocument"]}
                for p in role.get("Policies", [])
            ],
            "managed": role.get("ManagedPolicyArns", []),
        }
    json.dump(out, sys.stdout, indent=1, sort_keys=True)


if __name__ == "__main__":
    if len(sys.argv) != 2:
        sys.exit("usage: sam_policies.py template.yaml")
    main(sys.argv[1])

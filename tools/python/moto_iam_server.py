"""moto server with IAM authorised per resource for DynamoDB, Secrets Manager and KMS.

moto authenticates every request and evaluates the caller's IAM policies once
INITIAL_NO_AUTH_ACTION_COUNT requests have passed (the local stack switches it on through
/moto-api/reset-auth after creating the operator user). It names the resource of SQS calls
(the queue ARN) but passes "*" for DynamoDB and Secrets Manager, so a policy scoped to a table or
to a secret prefix would deny everything. This launcher names those resources as AWS does:
  - DynamoDB: the table ARN, `/index/<name>` for an index, every table of a batch or
    transaction (https://docs.aws.amazon.com/service-authorization/latest/reference/list_amazondynamodb.html);
  - Secrets Manager: the secret's ARN, or the ARN its name would have
    (https://docs.aws.amazon.com/service-authorization/latest/reference/list_awssecretsmanager.html).
  - KMS: the key's ARN, from the KeyId the call names (key id, ARN or alias)
    (https://docs.aws.amazon.com/service-authorization/latest/reference/list_awskeymanagementservice.html).
A key created with the tag `chatsync:local-key-id` gets that id, so the local stack can name
the key's ARN (in environments and policies) before creating it, as CloudFormation would.
SQS's batch calls are authorised by their single-message action, as IAM does (a permission
for SendMessage covers SendMessageBatch:
https://docs.aws.amazon.com/AWSSimpleQueueService/latest/SQSDeveloperGuide/sqs-batch-api.html).
Denials of JSON-protocol calls (DynamoDB, Secrets Manager, SQS) answer in JSON with the codes
those services document (https://docs.aws.amazon.com/amazondynamodb/latest/APIReference/CommonErrors.html),
not moto's XML, so the SDK names the error.
DynamoDB applies each write to an item atomically, its condition included
(https://docs.aws.amazon.com/amazondynamodb/latest/developerguide/WorkingWithItems.html#WorkingWithItems.ConditionalUpdate);
moto's threaded server checks and writes without a lock, so two concurrent conditional writes
could both pass. Its writes are serialised here.
Arguments are moto_server's (-H host -p port).
"""

import functools
import sys
import threading

from moto.core.exceptions import JsonRESTError
from moto.core.responses import BaseResponse
from moto.dynamodb.models import DynamoDBBackend
from moto.dynamodb.responses import DynamoHandler
from moto.kms.models import KmsBackend, kms_backends
from moto.kms.responses import KmsResponse
from moto.iam.access_control import IAMRequestBase
from moto.secretsmanager.models import secretsmanager_backends
from moto.secretsmanager.responses import SecretsManagerResponse
from moto.server import main

BATCH_KEYS = ("Put", "Update", "Delete", "ConditionCheck", "Get")


def dynamodb_resources(handler):
    params = getattr(handler, "params", None) or getattr(handler, "body", None) or {}
    prefix = f"arn:aws:dynamodb:{handler.region}:{handler.current_account}:table/"
    names = []
    if params.get("TableName"):
        arn = prefix + params["TableName"]
        if params.get("IndexName"):
            arn += "/index/" + params["IndexName"]
        names.append(arn)
    for table in (params.get("RequestItems") or {}).keys():
        names.append(prefix + table)
    for item in params.get("TransactItems") or []:
        for key in BATCH_KEYS:
            if isinstance(item.get(key), dict) and item[key].get("TableName"):
                names.append(prefix + item[key]["TableName"])
    return names or ["*"]


def secret_resource(handler):
    name = handler._get_param("SecretId") or handler._get_param("Name")
    if not name:
        return "*"
    store = secretsmanager_backends[handler.current_account][handler.region].secrets
    if name in store:
        return store[name].arn
    if name.startswith("arn:"):
        return name
    return f"arn:aws:secretsmanager:{handler.region}:{handler.current_account}:secret:{name}"


def kms_resource(handler):
    key_id = handler._get_param("KeyId")
    if not key_id:
        return "*"
    backend = kms_backends[handler.current_account][handler.region]
    try:
        return backend.describe_key(key_id).arn
    except Exception:  # an unknown key: the call itself answers NotFound after authorisation
        if key_id.startswith("arn:"):
            return key_id
        return f"arn:aws:kms:{handler.region}:{handler.current_account}:key/{key_id}"


LOCAL_KEY_ID_TAG = "chatsync:local-key-id"
_create_key = KmsBackend.create_key


def create_key_with_id(self, policy, key_usage, key_spec, description, tags, *args, **kwargs):
    key = _create_key(self, policy, key_usage, key_spec, description, tags, *args, **kwargs)
    wanted = next(
        (t.get("TagValue") for t in tags or [] if t.get("TagKey") == LOCAL_KEY_ID_TAG), None
    )
    if wanted and wanted != key.id and wanted not in self.keys:
        del self.keys[key.id]
        key.id = wanted
        key.arn = f"arn:aws:kms:{key.region}:{key.account_id}:key/{wanted}"
        self.keys[wanted] = key
        self.tagger.tag_resource(wanted, tags)
    return key


# https://docs.aws.amazon.com/AWSSimpleQueueService/latest/SQSDeveloperGuide/sqs-batch-api.html
BATCH_ACTIONS = {
    "sqs:SendMessageBatch": "sqs:SendMessage",
    "sqs:DeleteMessageBatch": "sqs:DeleteMessage",
    "sqs:ChangeMessageVisibilityBatch": "sqs:ChangeMessageVisibility",
}

_check_action = IAMRequestBase.check_action_permitted


def check_single_action(self, resource):
    self._action = BATCH_ACTIONS.get(self._action, self._action)
    _check_action(self, resource)


JSON_CODES = {
    "AccessDenied": "AccessDeniedException",
    "InvalidClientTokenId": "UnrecognizedClientException",
    "SignatureDoesNotMatch": "InvalidSignatureException",
}

_authorise = BaseResponse._authenticate_and_authorize_normal_action


def authorise_json(self, resource="*"):
    try:
        _authorise(self, resource)
    except JsonRESTError:
        raise
    except Exception as error:
        code = getattr(error, "error_type", None)
        if code not in JSON_CODES or not self.headers.get("X-Amz-Target"):
            raise
        denial = JsonRESTError(JSON_CODES[code], error.message)
        denial.code = 400  # as DynamoDB and Secrets Manager answer these
        raise denial from None


def authorise_tables(self, resource="*"):
    for arn in dynamodb_resources(self):
        authorise_json(self, arn)


def determine_secret(self):
    return secret_resource(self)


_WRITES = threading.RLock()


def serialised(write):
    @functools.wraps(write)
    def locked(*args, **kwargs):
        with _WRITES:
            return write(*args, **kwargs)

    return locked


for _name in ("put_item", "update_item", "delete_item", "transact_write_items", "batch_write_item"):
    setattr(DynamoDBBackend, _name, serialised(getattr(DynamoDBBackend, _name)))

IAMRequestBase.check_action_permitted = check_single_action
BaseResponse._authenticate_and_authorize_normal_action = authorise_json
DynamoHandler._authenticate_and_authorize_normal_action = authorise_tables
SecretsManagerResponse._determine_resource = determine_secret
KmsResponse._determine_resource = kms_resource
KmsBackend.create_key = create_key_with_id

if __name__ == "__main__":
    main(sys.argv[1:])

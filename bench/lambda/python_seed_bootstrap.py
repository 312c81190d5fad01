"""The seed's usual stack, as a Lambda custom runtime: a Python 3 handler that
imports boto3 and makes its DynamoDB table object at init (module level), the
way Cloud Resume Challenge counters are written, plus the smallest runtime
loop (urllib) so it runs under the same Runtime API emulator as Tally's
bootstrap. Only its init time is measured (process start -> first `next`)."""
import json
import os
import urllib.request

import boto3  # the import the measurement is about

# (Debian's boto3 1.26 predates AWS_ENDPOINT_URL_*; pass it on for local runs.)
table = boto3.resource(
    "dynamodb", endpoint_url=os.environ.get("AWS_ENDPOINT_URL_DYNAMODB")
).Table(os.environ["TABLE_NAME"])


def handler(event, context):
    item = table.update_item(
        Key={"pk": "c#demo#/", "sk": "total"},
        UpdateExpression="ADD hits :one",
        ExpressionAttributeValues={":one": 1},
        ReturnValues="UPDATED_NEW",
    )
    return {"statusCode": 200, "body": json.dumps({"hits": int(item["Attributes"]["hits"])})}


def main():
    api = "http://" + os.environ["AWS_LAMBDA_RUNTIME_API"] + "/2018-06-01/runtime/invocation/"
    while True:
        with urllib.request.urlopen(api + "next") as r:
            request_id = r.headers["Lambda-Runtime-Aws-Request-Id"]
            event = json.loads(r.read())
        body = json.dumps(handler(event, None)).encode()
        urllib.request.urlopen(urllib.request.Request(api + request_id + "/response", data=body))


if __name__ == "__main__":
    main()

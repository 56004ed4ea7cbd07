"""AccessService from Python: a check, a write whose consistency token the
next check relays, and a refusal read as its ErrorInfo.

Run it against a server (generate the client first, see clients/README.md):

    ACCESS_ADDR=127.0.0.1:50051 PYTHONPATH=clients/python/gen python clients/python/example.py

ACCESS_API_KEY, when set, goes in `authorization: Bearer <key>` (a key with
the read, write and platform scopes: the example creates an account).
"""

import json
import os
import pathlib
import sys
import uuid

import grpc
from google.rpc import error_details_pb2
from grpc_status import rpc_status

from access.v1 import access_pb2 as pb
from access.v1 import access_pb2_grpc

SERVICE_CONFIG = pathlib.Path(__file__).resolve().parents[2] / "api" / "service-config.json"


def connect(addr: str) -> grpc.Channel:
    """A channel with the service's own config: round robin over the
    addresses a name resolves to, each method's deadline, and UNAVAILABLE
    retried on the reads and checks (never on writes)."""
    options = [
        ("grpc.service_config", SERVICE_CONFIG.read_text()),
        ("grpc.enable_retries", 1),
    ]
    return grpc.insecure_channel(addr, options=options)


def error_info(err: grpc.RpcError) -> error_details_pb2.ErrorInfo | None:
    """The ErrorInfo of a refusal: its reason is what a program branches on."""
    status = rpc_status.from_call(err)
    for detail in status.details if status else []:
        if detail.Is(error_details_pb2.ErrorInfo.DESCRIPTOR):
            info = error_details_pb2.ErrorInfo()
            detail.Unpack(info)
            return info
    return None


def main() -> int:
    addr = os.environ.get("ACCESS_ADDR", "127.0.0.1:50051")
    key = os.environ.get("ACCESS_API_KEY")
    metadata = [("authorization", f"Bearer {key}")] if key else []
    access = access_pb2_grpc.AccessServiceStub(connect(addr))
    account = f"py-{uuid.uuid4().hex[:12]}"
    olivia = pb.Person(user_id="u-olivia", email="olivia@example.com", name="Olivia Owner")

    # A write answers with a consistency token ...
    created = access.CreateAccount(
        pb.CreateAccountRequest(account_id=account, name="Python Example", owner=olivia),
        metadata=metadata,
    )
    print(f"created {created.account.id}, token {created.consistency_token}")

    # ... which the next check relays: its answer is at least as fresh as
    # the write, on any replica, whatever the caches hold.
    decision = access.Authorize(
        pb.AuthorizeRequest(
            user_id="u-olivia",
            account_id=account,
            permission="campaigns.send",
            consistency=pb.Consistency(at_least_as_fresh=created.consistency_token),
        ),
        metadata=metadata,
    )
    reason = pb.DecisionReason.Name(decision.reason)
    print(f"authorize: allowed={decision.allowed} reason={reason}")
    if not decision.allowed:
        return 1

    # A refusal: the same account id for another owner. The status code
    # says what kind of failure; ErrorInfo's reason and metadata say which.
    someone_else = pb.Person(user_id="u-mallory", email="mallory@example.com", name="Mallory")
    try:
        access.CreateAccount(
            pb.CreateAccountRequest(account_id=account, name="Python Example", owner=someone_else),
            metadata=metadata,
        )
    except grpc.RpcError as err:
        info = error_info(err)
        if info is None:
            print(f"refused without ErrorInfo: {err}", file=sys.stderr)
            return 1
        print(f"refused: {err.code().name} {info.reason} {json.dumps(dict(info.metadata), sort_keys=True)}")
        return 0 if info.reason == "ACCOUNT_EXISTS" else 1
    print("a second owner for the same account was accepted", file=sys.stderr)
    return 1


if __name__ == "__main__":
    sys.exit(main())

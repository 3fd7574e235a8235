"""Command line: ``python -m sagemaker_runtime_rs demo`` and ``python -m sagemaker_runtime_rs serve``."""

from __future__ import annotations

import argparse
import json
import signal
import sys
import threading

from . import exceptions
from .local import Echo, LocalServer, ModelFailure


def _reverse_words(body: bytes, headers: dict[str, str]) -> dict[str, object]:
    request = json.loads(body)
    if not isinstance(request, dict) or "inputs" not in request:
        raise ModelFailure(400, 'expected a JSON object with "inputs"')
    return {"generated_text": " ".join(reversed(str(request["inputs"]).split()))}


def demo() -> int:
    """Starts the local server in-process, invokes it with our client and shows what comes back."""
    with LocalServer({"echo": Echo(), "reverse": _reverse_words}) as server:
        print(f"local SageMaker Runtime server: {server.url} (endpoints: {', '.join(server.endpoint_names)})")
        client = server.client()
        response = client.invoke_endpoint(
            EndpointName="reverse",
            Body=json.dumps({"inputs": "hello from sagemaker-runtime-rs"}),
            ContentType="application/json",
            CustomAttributes="trace_id=demo-1",
        )
        print("\ninvoke_endpoint(EndpointName='reverse', ...)")
        print(f"  HTTPStatusCode:           {response['ResponseMetadata']['HTTPStatusCode']}")
        print(f"  ContentType:              {response['ContentType']}")
        print(f"  InvokedProductionVariant: {response['InvokedProductionVariant']}")
        print(f"  Body:                     {json.loads(response['Body'].read())}")
        echoed = client.invoke_endpoint(EndpointName="echo", Body=b"ping", CustomAttributes="trace_id=demo-2")
        print("\ninvoke_endpoint(EndpointName='echo', CustomAttributes='trace_id=demo-2')")
        print(f"  CustomAttributes:         {echoed['CustomAttributes']}  (round trip)")
        print(f"  Body:                     {echoed['Body'].read()!r}")
        try:
            client.invoke_endpoint(EndpointName="reverse", Body=b"[]", ContentType="application/json")
        except client.exceptions.ModelError as error:
            print("\nclient.exceptions.ModelError:")
            print(f"  {error}")
            print(f"  OriginalStatusCode: {error.response['OriginalStatusCode']}")
        try:
            client.invoke_endpoint(EndpointName="missing", Body=b"{}")
        except exceptions.ValidationError as error:
            print(f"\nValidationError: {error}")
    return 0


def serve(args: argparse.Namespace) -> int:
    """Serves until Ctrl-C or SIGTERM."""
    endpoints: dict[str, Echo] = {name: Echo(delay=args.delay) for name in (args.endpoint or ["echo"])}
    stop = threading.Event()
    # Before the "serving" line: whoever reads it may send SIGTERM at once.
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    server = LocalServer(endpoints, host=args.host, port=args.port, require_auth=not args.no_auth).start()
    print(f"serving {', '.join(endpoints)} at {server.url}", flush=True)
    try:
        while not stop.wait(0.2):
            pass
    except KeyboardInterrupt:
        pass
    finally:
        server.stop()
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m sagemaker_runtime_rs", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)
    commands.add_parser("demo", help="start a local server in-process and invoke it")
    serve_parser = commands.add_parser("serve", help="run the local SageMaker Runtime server")
    serve_parser.add_argument("--host", default="127.0.0.1")
    serve_parser.add_argument("--port", type=int, default=8080, help="0 picks a free port")
    serve_parser.add_argument(
        "--endpoint", action="append", help="endpoint name served by the echo model (repeatable)"
    )
    serve_parser.add_argument(
        "--delay", type=float, default=0.0, help="seconds the echo model waits before answering"
    )
    serve_parser.add_argument(
        "--no-auth", action="store_true", help="accept requests without a SigV4 signature"
    )
    args = parser.parse_args(argv)
    if args.command == "demo":
        return demo()
    return serve(args)


if __name__ == "__main__":
    sys.exit(main())

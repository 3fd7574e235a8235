"""``client.meta``: the read-only facts boto3 exposes about a client."""

from __future__ import annotations

from types import MappingProxyType

TYPE_CHECKING = False  # typing costs ~10 ms to import; annotations are strings here
if TYPE_CHECKING:
    from typing import Any


class ServiceModel:
    """The parts of botocore's ServiceModel that scripts read."""

    service_name = "sagemaker-runtime"
    service_id = "SageMaker Runtime"
    signing_name = "sagemaker"
    api_version = "2017-05-13"
    protocol = "rest-json"
    operation_names = ("InvokeEndpoint", "InvokeEndpointAsync", "InvokeEndpointWithResponseStream")


class ClientMeta:
    """``client.meta`` as in boto3: region_name, endpoint_url, config, service_model, partition."""

    partition = "aws"
    service_model = ServiceModel()
    method_to_api_mapping = MappingProxyType(
        {
            "invoke_endpoint": "InvokeEndpoint",
            "invoke_endpoint_async": "InvokeEndpointAsync",
            "invoke_endpoint_with_response_stream": "InvokeEndpointWithResponseStream",
        }
    )

    def __init__(self, region_name: str | None, endpoint_url: str | None, config: Any) -> None:
        self.region_name = region_name
        self.endpoint_url = endpoint_url
        self.config = config

    def __repr__(self) -> str:
        return f"ClientMeta(region_name={self.region_name!r}, endpoint_url={self.endpoint_url!r})"

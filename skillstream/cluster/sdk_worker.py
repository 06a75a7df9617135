"""`python -m skillstream.cluster.sdk_worker --id=ID --provision_endpoint=HOST:PORT ...`: a Beam
Python SDK worker for one Flink TaskManager (Beam's PROCESS environment).

Each TaskManager starts its own worker with this command and the arguments Beam's
ProcessEnvironmentFactory passes (--id, --provision_endpoint, --semi_persist_dir); the
provision service answers where the worker's control endpoint is. Nothing is staged: the
worker runs the project's virtual environment. Beam's shared worker pool (EXTERNAL) does not
serve two TaskManagers: both name their worker "1-1", the pool keys its workers by that name,
and the first TaskManager to finish a stage stops the other's worker mid-bundle.
"""

from __future__ import annotations

import argparse
import sys

import grpc
from apache_beam.portability.api import beam_provision_api_pb2, beam_provision_api_pb2_grpc
from apache_beam.runners.worker.sdk_worker import SdkHarness


def main(argv: list[str]) -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--id", required=True)
    parser.add_argument("--provision_endpoint", required=True)
    known, _ = parser.parse_known_args(argv)
    with grpc.insecure_channel(known.provision_endpoint) as channel:
        info = (
            beam_provision_api_pb2_grpc.ProvisionServiceStub(channel)
            .GetProvisionInfo(
                beam_provision_api_pb2.GetProvisionInfoRequest(),
                metadata=[("worker_id", known.id)],  # whose provision info: this worker's
                timeout=60,
            )
            .info
        )
    # The settings of Beam's worker pool for the same job: no state cache (this pipeline keeps
    # no state), data sent as soon as it is ready.
    SdkHarness(
        info.control_endpoint.url,
        worker_id=known.id,
        state_cache_size=0,
        data_buffer_time_limit_ms=-1,
    ).run()


if __name__ == "__main__":
    main(sys.argv[1:])

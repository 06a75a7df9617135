"""`python -m skillstream.broker fetch`: resolve the Kafka broker from Maven Central.

`make setup` runs it.
"""

from __future__ import annotations

import sys

from skillstream import settings as settings_module
from skillstream.broker import BrokerError, fetch


def main(argv: list[str]) -> int:
    if argv != ["fetch"]:
        print("usage: python -m skillstream.broker fetch", file=sys.stderr)
        return 2
    try:
        libs = fetch(settings_module.load())
    except BrokerError as error:
        print(f"error: {error}", file=sys.stderr)
        return 1
    print(f"Kafka broker jars: {libs}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))

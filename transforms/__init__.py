"""Transforms: the Apache Beam pipeline from Kafka to the DuckDB `raw` schema."""

import logging


class _DropBeamImportNoise(logging.Filter):
    """Beam warns at import that Google Cloud clients are absent; skillstream never uses them."""

    def filter(self, record: logging.LogRecord) -> bool:
        return "apitools not found" not in record.getMessage()


logging.getLogger().addFilter(_DropBeamImportNoise())

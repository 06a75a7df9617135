"""dbt-duckdb's source plugin on the lake (dbt_project/profiles.yml): a source with
`meta: {plugin: lake_source}` reads the Iceberg table of the same schema and name in the lake of
the settings (`lake`), as of its current snapshot. Without the setting the sources are empty
tables of the lake's schemas: the DuckDB warehouse's builds never read them, but
`dbt docs generate` opens every source."""

from __future__ import annotations

from typing import Any

from dbt.adapters.duckdb.plugins import iceberg
from dbt.adapters.duckdb.utils import SourceConfig

from skillstream import settings
from skillstream.transforms.lake import (
    LAKE_QUARANTINE_SCHEMA,
    LAKE_STATEMENT_SCHEMA,
    catalog,
    tables,
)

EMPTY = {"statements": LAKE_STATEMENT_SCHEMA, "quarantine": LAKE_QUARANTINE_SCHEMA}


class Plugin(iceberg.Plugin):
    def initialize(self, config: dict[str, Any]) -> None:
        self.location = settings.load().lake_location
        if self.location is not None:
            tables(self.location)  # a build before the first transform reads empty tables
            self._catalog = catalog(self.location)

    def load(self, source_config: SourceConfig) -> Any:
        if self.location is None:
            return EMPTY[source_config.identifier].empty_table()
        return super().load(source_config)

"""dbt-duckdb's source plugin on the lake (dbt_project/profiles.yml, target `lake`): a source
with `meta: {plugin: lake_source}` reads the Iceberg table of the same schema and name in the
lake of the settings (`lake`), as of its current snapshot."""

from __future__ import annotations

from typing import Any

from dbt.adapters.duckdb.plugins import iceberg

from skillstream import settings
from skillstream.transforms.lake import LakeError, catalog, tables


class Plugin(iceberg.Plugin):
    def initialize(self, config: dict[str, Any]) -> None:
        location = settings.load().lake_location
        if location is None:
            raise LakeError("lake: dbt's target `lake` needs the setting lake (SKILLSTREAM_LAKE)")
        tables(location)  # a build before the first transform reads empty tables
        self._catalog = catalog(location)

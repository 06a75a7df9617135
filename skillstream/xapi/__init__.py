"""The xAPI model shared by ingestion and transforms: identity, statement ids, validation."""

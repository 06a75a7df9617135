"""Quality: Great Expectations suites, the checkpoint that gates publishing, and publishing."""

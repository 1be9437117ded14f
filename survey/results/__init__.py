"""The evaluators' side: reading responses, computing the report, pages, charts and downloads."""

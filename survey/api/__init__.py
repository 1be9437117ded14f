"""The JSON API for case-management software and evaluators."""

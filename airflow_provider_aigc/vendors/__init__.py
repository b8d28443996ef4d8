"""Sans-IO vendor protocols: pure request builders and response parsers (no network, no Airflow)."""

"""Airflow operators of the AIGC provider (submit and archive)."""

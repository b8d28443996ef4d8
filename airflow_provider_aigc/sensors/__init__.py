"""Airflow sensors of the AIGC provider."""

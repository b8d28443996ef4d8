"""The distributed deployment suite (`make test-deploy`): PostgreSQL, Redis, Celery, two triggerers.

Not collected by pytest (no ``test_*`` files): ``python -m tests.deploy`` starts the deployment, runs
each scenario against it, prints a table of figures and ends with ``N passed, M failed``.
"""

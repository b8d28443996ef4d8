"""One module per scenario; each ``run(deploy, result)`` asserts and fills ``result.figures``."""

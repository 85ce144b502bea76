"""The command center web app: FastAPI, Jinja2 pages, the JSON API and live updates."""

"""The web pages people use (server-rendered with Jinja2, texts from gettext catalogs),
served by the gateway; see routes.py."""

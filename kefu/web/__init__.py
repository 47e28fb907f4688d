"""Server-rendered pages (Jinja2 + Alpine.js), with front-end packages served from the app."""

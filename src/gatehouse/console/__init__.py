"""The web console and the API Playground: server-rendered pages, every asset served locally."""

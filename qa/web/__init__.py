"""The web app (Gradio): state, layout, handlers, escaped HTML, transcript, MCP tools."""

"""The model-callable tools: one typed function each, sandboxed to the repository."""

"""Where an import's file comes from: one module per source (URL, Azure Blob)."""

"""After-action reports as JSON data, HTML with inline SVG charts, and CSV."""

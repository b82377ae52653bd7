"""Views: 2-D maps with their distortion, the exact angle view, clusters, selections and figures."""

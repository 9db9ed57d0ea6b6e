"""A server's mail and access services as check subjects of kind "service"."""

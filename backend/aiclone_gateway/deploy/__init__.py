"""What the VDS deployment renders: the nginx site (``nginx_site``)."""

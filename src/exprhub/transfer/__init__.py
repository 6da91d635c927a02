"""Getting files from remote servers (NCBI's HTTPS layout, a mirror, a test server), with no
knowledge of what the files hold."""

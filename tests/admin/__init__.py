"""The admin, through the test client: pages, hand-made events, the preview, permissions, deletes."""

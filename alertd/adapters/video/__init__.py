"""Live camera video over WebRTC with aiortc: sources (`source`), the shared relay of each
camera's source to its viewers (`relay`), and WHEP sessions (`session`)."""

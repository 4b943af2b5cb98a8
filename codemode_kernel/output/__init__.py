"""Output shaping: cell items (`items`) → IOPub message contents (`messages`), truncated per
observation the reference's way (`shaper`, `truncation`). Builds contents; never sends them."""

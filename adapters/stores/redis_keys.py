"""Where the Redis wallet keeps what: every key name, in one place.

One player's whole state carries one hash tag, so every wallet call on that player
touches one cluster slot and one Lua function can apply it atomically. The tag names
the player's *group*, `crc32(player_id) % GROUPS`, not the player: the group's house
accounts, seq counter and outbox stream then share the slot too, so a bet's house leg
is written in the same step as the player's legs without ever crossing slots. The
house total is the sum of its group shards.

`GROUPS` is fixed forever: changing it would move players between groups, and every
seq already handed to a provider encodes its group.

Keys of a player `P` in group `n` (tag `{gg:n}`):

    {gg:n}:p:P   hash    v (version), rec (player), b:<currency> ("real bonus"),
                         h (chain head: "seq link-hex"), f (play figures,
                         `core.wallet.figures.encode_figures`), lk (a multi-slot lock)
    {gg:n}:t:P   hash    tx field -> tx record (idempotency record, log row, entries)
    {gg:n}:r:P   hash    round field -> round record
    {gg:n}:h:P   zset    tx field scored by seq: the history, newest first by score
    {gg:n}:x:P   zset    "round field|seq|tx field" at score 0: a round's records, by lex
    {gg:n}:a:P   zset    the player's audit trail: one JSON array per change, scored by
                         its seq (drawn from the group's counter); only ever added to

Keys of group `n`:

    {gg:n}:seq      string  counter; seq = counter * GROUPS + n (records and audit entries)
    {gg:n}:house    hash    "<currency>:<account>" -> balance of the group's house shard
    {gg:n}:outbox   stream  one event per wallet step, for the reporting relay
    {gg:n}:players  set     the group's player ids (for `verify`)

Global keys (each in its own slot, written with single-key commands only):

    gg:claim:tx:<field>     player id owning (provider, tx_id)
    gg:claim:round:<field>  player id owning (provider, round_id)
    gg:session:<sha256>     session record, by the digest of its token
    gg:nonce:<key>          a provider nonce, with an expiry
    gg:step:<id>            hash: the intent of a step spanning slots, while it runs

A field is `len(provider):provider:id`: unambiguous whatever the id contains.
"""

from __future__ import annotations

import functools
import zlib
from typing import NamedTuple

__all__ = [
    "GROUPS",
    "GroupKeys",
    "PlayerKeys",
    "claim_round_key",
    "claim_tx_key",
    "group_keys",
    "group_of",
    "key_field",
    "nonce_key",
    "player_keys",
    "round_index_member",
    "round_index_prefix",
    "seq_for",
    "session_key",
    "split_field",
    "step_key",
]

GROUPS = 1_024
"""Player groups, one hash tag each; fixed forever (see the module doc). 1,024 tags
spread over a cluster's 16,384 slots fine-grained enough to rebalance, and keep the
relay's stream count and `verify`'s walk over house shards small."""

PLAYER_KEYS_CACHED = 65_536
"""Players whose key names are kept built (about 1 KB each): every wallet call needs
its player's ten names, and most calls are for players seen recently."""
CLAIM_TX_PREFIX = "gg:claim:tx:"
CLAIM_ROUND_PREFIX = "gg:claim:round:"
SESSION_PREFIX = "gg:session:"
NONCE_PREFIX = "gg:nonce:"
STEP_PREFIX = "gg:step:"


def group_of(player_id: str) -> int:
    """The player's group: stable across processes and versions (CRC-32, not `hash`)."""
    return zlib.crc32(player_id.encode()) % GROUPS


def seq_for(counter: int, group: int) -> int:
    """The seq of a group's counter value: unique across groups, increasing with it."""
    assert 0 <= group < GROUPS
    return counter * GROUPS + group


def key_field(provider: str, key: str) -> str:
    """A (provider, id) pair as one string; the length prefix keeps any id unambiguous."""
    return f"{len(provider)}:{provider}:{key}"


def split_field(field: str) -> tuple[str, str]:
    """`key_field`, reversed."""
    length, _, rest = field.partition(":")
    size = int(length)
    assert rest[size] == ":", field
    return rest[:size], rest[size + 1 :]


def round_index_prefix(provider: str, round_id: str) -> str:
    """The common start of the round-index members of one round (both ids length-prefixed,
    so no round's prefix is the start of another's)."""
    return f"{len(provider)}:{provider}:{len(round_id)}:{round_id}|"


def round_index_member(provider: str, round_id: str, seq: int, tx_id: str) -> str:
    """A record's member in its player's round index: sorted by seq within the round
    (zero-padded), ending in the record's tx field (`gg_round_records_v2` cuts it off)."""
    return f"{round_index_prefix(provider, round_id)}{seq:020d}|{key_field(provider, tx_id)}"


class PlayerKeys(NamedTuple):
    """A player's keys and their group's, in the order the Lua functions take them."""

    player: str
    txs: str
    rounds: str
    history: str
    round_index: str
    house: str
    outbox: str
    players: str
    seq: str
    audit: str


class GroupKeys(NamedTuple):
    house: str
    outbox: str
    players: str
    seq: str


def group_keys(group: int) -> GroupKeys:
    tag = f"{{gg:{group}}}"
    return GroupKeys(f"{tag}:house", f"{tag}:outbox", f"{tag}:players", f"{tag}:seq")


@functools.lru_cache(maxsize=PLAYER_KEYS_CACHED)
def player_keys(player_id: str) -> PlayerKeys:
    tag = f"{{gg:{group_of(player_id)}}}"
    return PlayerKeys(
        f"{tag}:p:{player_id}",
        f"{tag}:t:{player_id}",
        f"{tag}:r:{player_id}",
        f"{tag}:h:{player_id}",
        f"{tag}:x:{player_id}",
        f"{tag}:house",
        f"{tag}:outbox",
        f"{tag}:players",
        f"{tag}:seq",
        f"{tag}:a:{player_id}",
    )


def claim_tx_key(field: str) -> str:
    return CLAIM_TX_PREFIX + field


def claim_round_key(field: str) -> str:
    return CLAIM_ROUND_PREFIX + field


def session_key(token_sha256_hex: str) -> str:
    return SESSION_PREFIX + token_sha256_hex


def nonce_key(key: str) -> str:
    return NONCE_PREFIX + key


def step_key(step_id: str) -> str:
    """The intent of a step spanning cluster slots (`redis_multislot`)."""
    return STEP_PREFIX + step_id

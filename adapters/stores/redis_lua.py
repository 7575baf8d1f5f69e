"""The Redis wallet's Lua library, as text: `redis_functions` loads it with FUNCTION LOAD.

A string constant rather than a `.lua` file beside this module, so that an installed
package (`pip install .`, the Docker image) cannot lose it to package-data rules.

The version is in the library's and every function's name: a gateway of the next
version loads its own library beside this one, so both serve during a rolling upgrade.
Python decides; these functions only check and write. Key names are never computed
in Lua: every key arrives in KEYS (`redis_keys`). `gg_apply_v2`, the commit of a
wallet step, validates everything (versions or locks, argument shapes, key types,
number ranges) before its first write, because Redis cannot roll back a script that
fails half way.
"""

from __future__ import annotations

__all__ = [
    "APPLY",
    "APPLY_MANY",
    "CHANGE_PLAYER",
    "CREATE_PLAYER",
    "DUMP_GROUP",
    "END_SESSION",
    "HISTORY",
    "LIBRARY",
    "LIBRARY_SOURCE",
    "LOCK",
    "READ",
    "READ_MANY",
    "RELEASE",
    "ROUND_RECORDS",
    "SNAPSHOT",
    "STEP_STATE",
    "UNLOCK",
]

LIBRARY = "gamegate_wallet_v2"
APPLY = "gg_apply_v2"
SNAPSHOT = "gg_snapshot_v2"
READ = "gg_read_v2"
READ_MANY = "gg_read_many_v2"
APPLY_MANY = "gg_apply_many_v2"
LOCK = "gg_lock_v2"
UNLOCK = "gg_unlock_v2"
RELEASE = "gg_release_v2"
CREATE_PLAYER = "gg_create_player_v2"
CHANGE_PLAYER = "gg_change_player_v2"
HISTORY = "gg_history_v2"
ROUND_RECORDS = "gg_round_records_v2"
END_SESSION = "gg_end_session_v2"
DUMP_GROUP = "gg_dump_group_v2"
STEP_STATE = "gg_step_state_v2"

LIBRARY_SOURCE = r"""#!lua name=gamegate_wallet_v2

-- gamegate's Redis wallet: see adapters/stores/redis_lua.py and redis_keys.py.

local SAFE_INT = 9007199254740991  -- 2^53 - 1: Lua numbers are doubles

local PART_KEYS = 8
-- Per part: player hash, txs hash, rounds hash, history zset, round-index zset,
-- house hash, outbox stream, group players set.
local KEY_TYPES = {'hash', 'hash', 'hash', 'zset', 'zset', 'hash', 'stream', 'set'}
local HEADER = 9
-- Per part ARGV header: guard ('v:<version>' or 'l:<lock id>'), player id, then the
-- counts: player-hash pairs, tx pairs, history pairs, round-index members, round
-- pairs, house pairs, outbox events (0 or 1).

local function integer(text)
    local n = tonumber(text)
    if n == nil or n ~= math.floor(n) or n > SAFE_INT or n < -SAFE_INT then
        return nil
    end
    return n
end

local function fail(message)
    return redis.error_reply('GGINVALID ' .. message)
end

-- Reads one part's header; returns the part table or an error string.
local function parse_part(keys, args, key_at, arg_at)
    if arg_at + HEADER - 1 > #args then
        return nil, 'part header past the arguments'
    end
    local part = {key_at = key_at, guard = args[arg_at], player = args[arg_at + 1]}
    local counts = {}
    for i = 1, 7 do
        local n = integer(args[arg_at + 1 + i])
        if n == nil or n < 0 then
            return nil, 'bad count'
        end
        counts[i] = n
    end
    if counts[7] > 1 then
        return nil, 'one outbox event per part'
    end
    part.counts = counts
    part.data_at = arg_at + HEADER
    part.size = HEADER + 2 * counts[1] + 2 * counts[2] + 2 * counts[3] + counts[4]
        + 2 * counts[5] + 2 * counts[6] + counts[7]
    if key_at + PART_KEYS - 1 > #keys then
        return nil, 'part keys past KEYS'
    end
    return part, nil
end

-- The guard of a part: the player's version as read, or the lock this step holds.
local function guard_holds(keys, part)
    local player_key = keys[part.key_at]
    local kind = string.sub(part.guard, 1, 2)
    local value = string.sub(part.guard, 3)
    local version = redis.call('HGET', player_key, 'v') or '0'
    local lock = redis.call('HGET', player_key, 'lk')
    if kind == 'v:' then
        if lock then
            return false, 'locked'
        end
        return version == value, 'conflict'
    end
    if kind == 'l:' then
        return lock ~= false and lock == value, 'lost-lock'
    end
    return false, 'bad-guard'
end

local function check_part(keys, args, part)
    for i = 1, PART_KEYS do
        local found = redis.call('TYPE', keys[part.key_at + i - 1])['ok']
        if found ~= 'none' and found ~= KEY_TYPES[i] then
            return 'key ' .. keys[part.key_at + i - 1] .. ' holds a ' .. found
        end
    end
    local c = part.counts
    local at = part.data_at + 2 * c[1] + 2 * c[2]
    for i = 0, c[3] - 1 do  -- history scores are seqs
        if integer(args[at + 2 * i]) == nil then
            return 'bad history score'
        end
    end
    at = at + 2 * c[3] + c[4] + 2 * c[5]
    local house = keys[part.key_at + 5]
    for i = 0, c[6] - 1 do  -- house shard balances stay exact integers
        local delta = integer(args[at + 2 * i + 1])
        local current = integer(redis.call('HGET', house, args[at + 2 * i]) or '0')
        if delta == nil or current == nil or integer(current + delta) == nil then
            return 'house delta out of range'
        end
    end
    return nil
end

local function hset_pairs(key, args, at, pairs, extra)
    if pairs == 0 and extra == nil then
        return
    end
    local call = {'HSET', key}
    for i = at, at + 2 * pairs - 1 do
        call[#call + 1] = args[i]
    end
    if extra ~= nil then
        for _, value in ipairs(extra) do
            call[#call + 1] = value
        end
    end
    redis.call(unpack(call))
end

local function zadd_pairs(key, args, at, pairs)
    if pairs == 0 then
        return
    end
    local call = {'ZADD', key}
    for i = at, at + 2 * pairs - 1 do
        call[#call + 1] = args[i]
    end
    redis.call(unpack(call))
end

local function write_part(keys, args, part)
    local k = part.key_at
    local c = part.counts
    local at = part.data_at
    local old = redis.call('HGET', keys[k], 'v')
    local version = tostring((integer(old or '0') or 0) + 1)
    local extra = {'v', version}
    if string.sub(part.guard, 1, 2) == 'l:' then
        redis.call('HDEL', keys[k], 'lk')
    end
    hset_pairs(keys[k], args, at, c[1], extra)
    at = at + 2 * c[1]
    hset_pairs(keys[k + 1], args, at, c[2], nil)
    at = at + 2 * c[2]
    zadd_pairs(keys[k + 3], args, at, c[3])
    at = at + 2 * c[3]
    if c[4] > 0 then
        local call = {'ZADD', keys[k + 4]}
        for i = at, at + c[4] - 1 do
            call[#call + 1] = '0'
            call[#call + 1] = args[i]
        end
        redis.call(unpack(call))
    end
    at = at + c[4]
    hset_pairs(keys[k + 2], args, at, c[5], nil)
    at = at + 2 * c[5]
    for i = 0, c[6] - 1 do
        redis.call('HINCRBY', keys[k + 5], args[at + 2 * i], args[at + 2 * i + 1])
    end
    at = at + 2 * c[6]
    if c[7] == 1 then
        redis.call('XADD', keys[k + 6], '*', 'e', args[at])
    end
    if old == false then
        redis.call('SADD', keys[k + 7], part.player)
    end
    return version
end

-- One job's commit: its parts count at args[arg_at], then each part's header and data,
-- its keys from keys[key_at] (PART_KEYS per part). Validates every part, then writes
-- them all. Returns the reply ({'ok', version...} or {'conflict'|'locked'|'lost-lock',
-- part index}) and where the next job starts, or nil and why the job is malformed.
local function apply_job(keys, args, key_at, arg_at)
    local count = integer(args[arg_at])
    if count == nil or count < 1 then
        return nil, 'bad part count'
    end
    local parts = {}
    arg_at = arg_at + 1
    for i = 1, count do
        local part, problem = parse_part(keys, args, key_at + (i - 1) * PART_KEYS, arg_at)
        if part == nil then
            return nil, problem
        end
        parts[i] = part
        arg_at = arg_at + part.size
    end
    if arg_at - 1 > #args then
        return nil, 'parts past the arguments'
    end
    local next_key = key_at + count * PART_KEYS
    for i, part in ipairs(parts) do
        local holds, why = guard_holds(keys, part)
        if not holds then
            return {why, i}, nil, next_key, arg_at
        end
        local problem = check_part(keys, args, part)
        if problem ~= nil then
            return nil, problem
        end
    end
    local reply = {'ok'}
    for _, part in ipairs(parts) do
        reply[#reply + 1] = write_part(keys, args, part)
    end
    return reply, nil, next_key, arg_at
end

-- KEYS: PART_KEYS per part. ARGV: format ('1'), parts, then each part's header and data.
-- The commit of one step, all parts or none. Returns {'ok', version...},
-- {'conflict'|'locked'|'lost-lock', part index}, or a GGINVALID error (nothing written).
local function apply(keys, args)
    if args[1] ~= '1' then
        return fail('unknown argument format ' .. tostring(args[1]))
    end
    local reply, problem, next_key, next_arg = apply_job(keys, args, 1, 2)
    if reply == nil then
        return fail(problem)
    end
    if next_key - 1 ~= #keys or next_arg - 1 ~= #args then
        return fail('arguments do not match the parts')
    end
    return reply
end

-- The commits of many independent steps (one server only: their keys are in any slot).
-- KEYS: each job's keys in turn. ARGV: format ('1'), job count, then each job as
-- gg_apply_v2 takes it after its format. Each job is validated and applied on its own;
-- returns one reply per job. A malformed job answers {'invalid', why} and the jobs
-- after it {'skipped'}: nothing of theirs is written.
local function apply_many(keys, args)
    if args[1] ~= '1' then
        return fail('unknown argument format ' .. tostring(args[1]))
    end
    local jobs = integer(args[2])
    local replies = {}
    local key_at, arg_at = 1, 3
    for i = 1, jobs do
        local reply, problem, next_key, next_arg = apply_job(keys, args, key_at, arg_at)
        if reply == nil then
            replies[i] = {'invalid', problem}
            for j = i + 1, jobs do
                replies[j] = {'skipped'}
            end
            return replies
        end
        replies[i] = reply
        key_at, arg_at = next_key, next_arg
    end
    return replies
end

-- KEYS: player hash, txs hash, rounds hash. ARGV: tx field count, tx fields, round fields.
-- Returns {player hash as a flat list, tx values, round values}.
local function snapshot(keys, args)
    local tx_fields = tonumber(args[1])
    local player = redis.call('HGETALL', keys[1])
    local txs = {}
    if tx_fields > 0 then
        txs = redis.call('HMGET', keys[2], unpack(args, 2, 1 + tx_fields))
    end
    local rounds = {}
    if #args > 1 + tx_fields then
        rounds = redis.call('HMGET', keys[3], unpack(args, 2 + tx_fields, #args))
    end
    return {player, txs, rounds}
end

-- One step's reads (one server only: a cluster does them per slot, redis_read.py):
-- every player's snapshot, the claims and the guard's session. ARGV from arg_at:
-- players, tx field count, tx fields, round field count, round fields, one claimant
-- per claim key ('' to only read it, else SET NX GET), 1 if a session is read. KEYS
-- from key_at: per player (player hash, txs hash, rounds hash), the claim keys (tx ids,
-- then round ids), the session hash if read. Returns {{player hash flat, tx values,
-- round values} per player, claim replies, session flat} and where the next job starts.
local function read_job(keys, args, key_at, arg_at)
    local players = tonumber(args[arg_at])
    local tx_count = tonumber(args[arg_at + 1])
    local tx_at = arg_at + 2
    local round_count = tonumber(args[tx_at + tx_count])
    local round_at = tx_at + tx_count + 1
    local snapshots = {}
    for i = 0, players - 1 do
        local k = key_at + 3 * i
        local txs, rounds = {}, {}
        if tx_count > 0 then
            txs = redis.call('HMGET', keys[k + 1], unpack(args, tx_at, tx_at + tx_count - 1))
        end
        if round_count > 0 then
            rounds = redis.call(
                'HMGET', keys[k + 2], unpack(args, round_at, round_at + round_count - 1)
            )
        end
        snapshots[i + 1] = {redis.call('HGETALL', keys[k]), txs, rounds}
    end
    local claimant_at = round_at + round_count
    local first_claim = key_at + 3 * players
    local claims = {}
    for j = 0, tx_count + round_count - 1 do
        local claimant = args[claimant_at + j]
        if claimant == '' then
            claims[j + 1] = redis.call('GET', keys[first_claim + j])
        else
            claims[j + 1] = redis.call('SET', keys[first_claim + j], claimant, 'NX', 'GET')
        end
    end
    local next_key = first_claim + tx_count + round_count
    local session = {}
    if args[claimant_at + tx_count + round_count] == '1' then
        session = redis.call('HGETALL', keys[next_key])
        next_key = next_key + 1
    end
    return {snapshots, claims, session}, next_key, claimant_at + tx_count + round_count + 1
end

local function read(keys, args)
    return (read_job(keys, args, 1, 1))
end

-- Many steps' reads at once: ARGV: job count, then each job as gg_read_v2 takes it;
-- KEYS: each job's in turn. Returns one gg_read_v2 reply per job.
local function read_many(keys, args)
    local replies = {}
    local key_at, arg_at = 1, 2
    for i = 1, tonumber(args[1]) do
        replies[i], key_at, arg_at = read_job(keys, args, key_at, arg_at)
    end
    return replies
end

-- KEYS: player hash. ARGV: version as read, lock value ('<id> <since-us>').
-- Locks the player for a step that spans several slots (redis_batch.py).
local function lock(keys, args)
    local version = redis.call('HGET', keys[1], 'v') or '0'
    if version ~= args[1] or redis.call('HEXISTS', keys[1], 'lk') == 1 then
        return 0
    end
    redis.call('HSET', keys[1], 'lk', args[2], 'v', tostring(integer(version) + 1))
    return 1
end

-- KEYS: player hash. ARGV: lock value. Ends the lock if it is still this one.
local function unlock(keys, args)
    if redis.call('HGET', keys[1], 'lk') ~= args[1] then
        return 0
    end
    local version = integer(redis.call('HGET', keys[1], 'v') or '0')
    redis.call('HDEL', keys[1], 'lk')
    redis.call('HSET', keys[1], 'v', tostring(version + 1))
    return 1
end

-- KEYS: a multi-slot step's intent hash. ARGV: expected state, new state.
-- The commit point of a step spanning slots (redis_multislot.py): prepared -> committed
-- by its process, or prepared -> aborted by a recovery, whichever comes first.
local function step_state(keys, args)
    if redis.call('HGET', keys[1], 'state') ~= args[1] then
        return 0
    end
    redis.call('HSET', keys[1], 'state', args[2])
    return 1
end

-- KEYS: a claim. ARGV: its owner. Frees a claim its owner did not use.
local function release(keys, args)
    if redis.call('GET', keys[1]) == args[1] then
        redis.call('DEL', keys[1])
        return 1
    end
    return 0
end

-- KEYS: player hash, group players set. ARGV: player id, player record.
-- Returns the stored record (the given one if it was new).
local function create_player(keys, args)
    local stored = redis.call('HGET', keys[1], 'rec')
    if stored then
        return stored
    end
    local version = integer(redis.call('HGET', keys[1], 'v') or '0')
    redis.call('HSET', keys[1], 'rec', args[2], 'v', tostring(version + 1))
    redis.call('SADD', keys[2], args[1])
    return args[2]
end

-- KEYS: player hash, audit zset, group seq counter. ARGV: the version the change was
-- decided on, the new player record, the group, GROUPS, the audit entry less its seq
-- (redis_codec.audit_tail). The record and its audit entry, or nothing: returns
-- {'ok', seq}, {'conflict'} (the version moved) or {'locked'} (a step spanning slots
-- holds the player). The entry's seq is drawn from the group's counter, as a block of
-- record seqs is (redis_seqs.py), so it is unique and rises with every change.
local function change_player(keys, args)
    if redis.call('HEXISTS', keys[1], 'lk') == 1 then
        return {'locked'}
    end
    local version = redis.call('HGET', keys[1], 'v') or '0'
    if version ~= args[1] then
        return {'conflict'}
    end
    local group, groups = integer(args[3]), integer(args[4])
    if group == nil or groups == nil or group < 0 or group >= groups then
        return fail('bad group')
    end
    for i, wanted in ipairs({'zset', 'string'}) do
        local found = redis.call('TYPE', keys[i + 1])['ok']
        if found ~= 'none' and found ~= wanted then
            return fail('key ' .. keys[i + 1] .. ' holds a ' .. found)
        end
    end
    local seq = integer(redis.call('INCR', keys[3]) * groups + group)
    if seq == nil then
        return fail('seq out of range')
    end
    seq = string.format('%d', seq)
    redis.call('HSET', keys[1], 'rec', args[2], 'v', tostring(integer(version) + 1))
    redis.call('ZADD', keys[2], seq, '[' .. seq .. ',' .. args[5])
    return {'ok', seq}
end

-- KEYS: history zset, txs hash. ARGV: exclusive upper seq ('+inf' for none), limit.
local function history(keys, args)
    local max = '+inf'
    if args[1] ~= '+inf' then
        max = '(' .. args[1]
    end
    local fields = redis.call('ZREVRANGEBYSCORE', keys[1], max, '-inf', 'LIMIT', 0, args[2])
    if #fields == 0 then
        return {}
    end
    return redis.call('HMGET', keys[2], unpack(fields))
end

-- KEYS: round-index zset, txs hash. ARGV: the round's member prefix.
local function round_records(keys, args)
    local members = redis.call('ZRANGEBYLEX', keys[1], '[' .. args[1], '[' .. args[1] .. '\255')
    if #members == 0 then
        return {}
    end
    local fields = {}
    for i, member in ipairs(members) do
        fields[i] = string.sub(member, #args[1] + 22)  -- past the prefix, the seq and '|'
    end
    return redis.call('HMGET', keys[2], unpack(fields))
end

-- KEYS: session hash. ARGV: end (µs). Ends a session no later than then.
local function end_session(keys, args)
    local expires = redis.call('HGET', keys[1], 'e')
    if not expires then
        return 0
    end
    if tonumber(args[1]) < tonumber(expires) then
        redis.call('HSET', keys[1], 'e', args[1])
    end
    return 1
end

-- KEYS: house hash, players set, then per player: player hash, txs hash, rounds hash,
-- history zset, round-index zset. ARGV: none. One group as of one instant, for verify.
local function dump_group(keys, args)
    local reply = {redis.call('HGETALL', keys[1]), redis.call('SCARD', keys[2])}
    for at = 3, #keys, 5 do
        reply[#reply + 1] = {
            redis.call('HGETALL', keys[at]),
            redis.call('HGETALL', keys[at + 1]),
            redis.call('HGETALL', keys[at + 2]),
            redis.call('ZRANGE', keys[at + 3], 0, -1, 'WITHSCORES'),
            redis.call('ZRANGE', keys[at + 4], 0, -1),
        }
    end
    return reply
end

redis.register_function('gg_apply_v2', apply)
redis.register_function('gg_read_v2', read)
redis.register_function('gg_read_many_v2', read_many)
redis.register_function('gg_apply_many_v2', apply_many)
redis.register_function{
    function_name = 'gg_snapshot_v2', callback = snapshot, flags = {'no-writes'}
}
redis.register_function('gg_lock_v2', lock)
redis.register_function('gg_unlock_v2', unlock)
redis.register_function('gg_release_v2', release)
redis.register_function('gg_step_state_v2', step_state)
redis.register_function('gg_create_player_v2', create_player)
redis.register_function('gg_change_player_v2', change_player)
redis.register_function{function_name = 'gg_history_v2', callback = history, flags = {'no-writes'}}
redis.register_function{
    function_name = 'gg_round_records_v2', callback = round_records, flags = {'no-writes'}
}
redis.register_function('gg_end_session_v2', end_session)
redis.register_function{
    function_name = 'gg_dump_group_v2', callback = dump_group, flags = {'no-writes'}
}
"""

-- One request shape per run, read from the spec file the harness passes after `--`.
-- With `unique`, every `{u}` in the body becomes <thread>x<start time>x<random>x<counter>
-- (letters and digits only: it also makes Twilio number SIDs),
-- distinct across threads, connections and runs (hub names, Twilio numbers must not repeat).
local threads = {}
local next_id = 0

local function read_spec(path)
  local f = assert(io.open(path, "r"))
  local text = f:read("*a")
  f:close()
  return text
end

-- The harness writes one field per line: `method\tX`, `header\tName\tValue`, `body\tText`,
-- `unique\t1`; values never hold tabs or newlines.
local function decode(text)
  local spec = { headers = {}, body = "", unique = false }
  for line in text:gmatch("[^\n]+") do
    local key, rest = line:match("^(%a+)\t(.*)$")
    if key == "method" then
      spec.method = rest
    elseif key == "header" then
      local name, value = rest:match("^(.-)\t(.*)$")
      spec.headers[name] = value
    elseif key == "body" then
      spec.body = rest
    elseif key == "unique" then
      spec.unique = rest == "1"
    end
  end
  return spec
end

function setup(thread)
  next_id = next_id + 1
  thread:set("tid", next_id)
  table.insert(threads, thread)
end

function init(args)
  local spec = decode(read_spec(args[1]))
  wrk.method = spec.method
  wrk.headers = spec.headers
  body_template = spec.body
  unique = spec.unique
  math.randomseed(os.time() * 1000 + tid)
  prefix = string.format("%dx%dx%dx", tid, os.time(), math.random(1, 1000000000))
  counter = 0
  if not unique and body_template ~= "" then
    wrk.body = body_template
  end
end

function request()
  if unique then
    counter = counter + 1
    local body = body_template:gsub("{u}", prefix .. counter)
    return wrk.format(nil, nil, nil, body)
  end
  return wrk.format()
end

// The demo lobby and its game page. No build step, no framework: the page talks only to
// its own backend under /lobby/api/ (which holds every key), never to the gateway's API.

const PAGE_SIZE = 48;
const SEARCH_DEBOUNCE_MS = 250;
const FUN_START_CENTS = 100000; // fun play starts with 1000.00 play money
const HISTORY_MAX = 10;

const $ = (selector) => document.querySelector(selector);
let walletCurrency = "EUR"; // the shown player's, for stake ranges in the lobby

async function call(path, body) {
  const options = body === undefined ? {} : {
    method: "POST",
    headers: { "Content-Type": "application/json" },
    body: JSON.stringify(body),
  };
  const response = await fetch(path, options);
  const data = await response.json().catch(() => null);
  if (!response.ok) {
    const error = data && data.error;
    throw new Error(error ? `${error.message} (${error.code})` : `HTTP ${response.status}`);
  }
  return data;
}

function showError(error) {
  const box = $("#error");
  box.textContent = error ? String(error.message || error) : "";
  box.hidden = !error;
}

function element(tag, properties = {}, children = []) {
  const node = Object.assign(document.createElement(tag), properties);
  node.append(...children);
  return node;
}

async function showBalance(player) {
  try {
    const balance = await call(`/lobby/api/balance?player=${encodeURIComponent(player)}`);
    $("#balance").textContent = `${balance.total} ${balance.currency}`;
    walletCurrency = balance.currency;
  } catch (error) {
    $("#balance").textContent = "unavailable";
    showError(error);
  }
}

// -- the lobby -----------------------------------------------------------------------

function lobbyState() {
  return {
    player: $("#player").value,
    market: $("#market").value,
    device: document.querySelector("input[name=device]:checked").value,
    q: $("#search").value.trim(),
    vertical: [...document.querySelectorAll("#vertical-options input:checked")].map((i) => i.value),
    provider: $("#provider").value,
    feature: [...document.querySelectorAll("#feature-options input:checked")].map((i) => i.value),
  };
}

function gamesQuery(state, cursor) {
  const query = new URLSearchParams({
    market: state.market, device: state.device, currency: walletCurrency,
  });
  if (state.q) query.set("q", state.q);
  for (const vertical of state.vertical) query.append("vertical", vertical);
  if (state.provider) query.set("provider", state.provider);
  for (const feature of state.feature) query.append("feature", feature);
  query.set("limit", String(PAGE_SIZE));
  if (cursor) query.set("cursor", cursor);
  return query;
}

function checkboxes(container, counts, chosen) {
  const names = [...new Set([...Object.keys(counts || {}), ...chosen])].sort();
  container.replaceChildren(...names.map((name) => element("label", {}, [
    element("input", { type: "checkbox", value: name, checked: chosen.includes(name) }),
    ` ${name.replaceAll("_", " ")} `,
    element("span", { className: "count", textContent: `(${(counts || {})[name] ?? 0})` }),
  ])));
}

function providerOptions(select, counts, chosen) {
  const names = [...new Set([...Object.keys(counts || {}), ...(chosen ? [chosen] : [])])].sort();
  select.replaceChildren(
    element("option", { value: "", textContent: "All providers" }),
    ...names.map((name) => element("option", {
      value: name, selected: name === chosen, textContent: `${name} (${(counts || {})[name] ?? 0})`,
    })),
  );
}

function tile(game, state) {
  const image = new URL(game.images.thumbnail, location.href);
  if (image.origin === location.origin) image.searchParams.set("title", game.title);
  const facts = [game.studio, game.vertical, game.rtp ? `RTP ${game.rtp} %` : null];
  const play = element("button", { type: "button", className: "play", textContent: "Play" });
  play.setAttribute("aria-label", `Play ${game.title}`);
  play.addEventListener("click", () => launch(game, state, play));
  const item = element("li", { className: "tile", tabIndex: 0 }, [
    element("img", { src: image.href, alt: "", width: 320, height: 200, loading: "lazy" }),
    element("h3", { textContent: game.title }),
    element("p", { className: "facts", textContent: facts.filter(Boolean).join(" · ") }),
    element("p", { className: "features", textContent: game.features.join(", ").replaceAll("_", " ") }),
    play,
  ]);
  item.dataset.key = game.key;
  item.dataset.vertical = game.vertical;
  item.dataset.provider = game.provider;
  item.setAttribute("aria-label", `${game.title} by ${game.studio}`);
  item.addEventListener("keydown", (event) => {
    if (event.target === item && (event.key === "Enter" || event.key === " ")) {
      event.preventDefault();
      play.click();
    }
  });
  return item;
}

async function launch(game, state, button) {
  button.disabled = true;
  try {
    const body = { game: game.key, player: state.player, device: state.device,
                   market: state.market, mode: "real" };
    const launched = await call("/lobby/api/launch", body);
    const url = new URL(launched.url, location.href);
    if (url.protocol !== "http:" && url.protocol !== "https:") throw new Error("bad launch URL");
    sessionStorage.setItem("player", state.player);
    sessionStorage.setItem(`game:${game.key}`, JSON.stringify({ title: game.title, stake: game.stake }));
    location.assign(url.href);
  } catch (error) {
    showError(error);
    button.disabled = false;
  }
}

function startLobby() {
  let shown = 0; // answers older than the last query are dropped
  let nextCursor = null;

  async function load(append) {
    const state = lobbyState();
    const ticket = ++shown;
    try {
      const page = await call(`/lobby/api/games?${gamesQuery(state, append ? nextCursor : null)}`);
      if (ticket !== shown) return;
      showError(null);
      nextCursor = page.next_cursor;
      const tiles = page.items.map((game) => tile(game, state));
      if (append) $("#tiles").append(...tiles); else $("#tiles").replaceChildren(...tiles);
      $("#total").textContent = `${page.total} ${page.total === 1 ? "game" : "games"}`;
      $("#total").dataset.total = String(page.total);
      $("#more").hidden = !nextCursor;
      checkboxes($("#vertical-options"), page.facets.vertical, state.vertical);
      checkboxes($("#feature-options"), page.facets.feature, state.feature);
      providerOptions($("#provider"), page.facets.provider, state.provider);
    } catch (error) {
      if (ticket === shown) showError(error);
    }
  }

  let timer = null;
  $("#search").addEventListener("input", () => {
    clearTimeout(timer);
    timer = setTimeout(() => load(false), SEARCH_DEBOUNCE_MS);
  });
  $("#filters").addEventListener("change", (event) => { if (event.target.id !== "search") load(false); });
  $("#filters").addEventListener("submit", (event) => { event.preventDefault(); load(false); });
  $("#filters").addEventListener("reset", () => setTimeout(() => {
    for (const box of document.querySelectorAll("#filters input[type=checkbox]")) box.checked = false;
    load(false);
  }));
  document.querySelector("form.context").addEventListener("change", (event) => {
    if (event.target.id === "player") showBalance(event.target.value); else load(false);
  });
  $("#more").addEventListener("click", () => load(true));

  $("#player").value = sessionStorage.getItem("player") || "demo-1";
  showBalance($("#player").value);
  load(false);
}

// -- the game page -------------------------------------------------------------------

function cents(text) {
  const [whole, fraction = ""] = text.split(".");
  const sign = whole.startsWith("-") ? -1 : 1;
  return sign * (Math.abs(parseInt(whole, 10)) * 100 + parseInt(fraction.padEnd(2, "0"), 10));
}

function formatCents(value) {
  const sign = value < 0 ? "-" : "";
  const digits = String(Math.abs(value)).padStart(3, "0");
  return `${sign}${digits.slice(0, -2)}.${digits.slice(-2)}`;
}

function keepStakes(range) {
  // Offer only the stakes the game takes (its range in the lobby's currency).
  const options = [...$("#stake").options];
  const fits = options.filter((o) => cents(o.value) >= cents(range.min) && cents(o.value) <= cents(range.max));
  if (fits.length === 0) return;
  for (const option of options) if (!fits.includes(option)) option.remove();
  if (!fits.some((option) => option.selected)) fits[0].selected = true;
}

function startGame() {
  const params = new URLSearchParams(location.search);
  const game = params.get("game") || "";
  const token = params.get("token") || "";
  const fun = params.get("mode") !== "real" || !token;
  const player = sessionStorage.getItem("player") || "demo-1";
  const back = new URL(params.get("return_url") || "/lobby", location.href);
  if (back.origin === location.origin) $("#back").href = back.href; // never elsewhere

  const [instance, ...rest] = game.split(":");
  const code = rest.join(":");
  const known = JSON.parse(sessionStorage.getItem(`game:${game}`) || "{}");
  const title = known.title || code || "Demo game";
  if (known.stake) keepStakes(known.stake);
  $("#title").textContent = title;
  document.title = `${title} · gamegate demo`;
  if (instance && code) {
    const art = new URL(`/lobby/images/${encodeURIComponent(instance)}/${code}.svg`, location.href);
    art.searchParams.set("title", title);
    $("#art").src = art.href;
  }
  $("#mode").textContent = fun
    ? "Fun play: play money, no wallet transactions."
    : `Real play for ${player}: each spin is a bet and a win in the wallet.`;
  document.body.dataset.mode = fun ? "fun" : "real";

  let funCents = FUN_START_CENTS;
  if (fun) $("#balance").textContent = `${formatCents(funCents)} FUN`;
  else showBalance(player);

  $("#spin-form").addEventListener("submit", async (event) => {
    event.preventDefault();
    const button = $("#spin");
    button.disabled = true;
    try {
      const stake = $("#stake").value;
      const round = await call("/lobby/api/spin",
        fun ? { game, stake, mode: "demo" } : { game, stake, token, mode: "real" });
      showError(null);
      if (fun) funCents += cents(round.win) - cents(round.stake);
      const balance = fun ? formatCents(funCents) : round.balance;
      $("#balance").textContent = `${balance} ${round.currency}`;
      $("#reels").replaceChildren(...round.symbols.map((s) => element("span", { textContent: s })));
      const won = cents(round.win) > 0;
      const result = $("#result");
      result.textContent = `Stake ${round.stake}, win ${round.win}`
        + (won ? ` (x${round.multiplier_pct / 100})` : "") + `: balance ${balance} ${round.currency}.`;
      Object.assign(result.dataset, { round: round.round, stake: round.stake, win: round.win });
      const line = element("li", { textContent: `${round.round}: -${round.stake} +${round.win}` });
      $("#history").prepend(line);
      while ($("#history").children.length > HISTORY_MAX) $("#history").lastElementChild.remove();
    } catch (error) {
      showError(error);
    } finally {
      button.disabled = false;
    }
  });
}

if (document.body.dataset.page === "lobby") startLobby();
else if (document.body.dataset.page === "play") startGame();

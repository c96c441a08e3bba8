// Strings come from a catalogue per language; the browser's languages choose which.
// t("key", {name}) fills {name} placeholders; a missing key falls back to English.

export function chooseLanguage(available, wanted = navigator.languages ?? [navigator.language]) {
  for (const tag of wanted) {
    const base = String(tag).toLowerCase().split("-")[0];
    if (available.includes(base)) return base;
  }
  return available[0];
}

export function translator(catalogues, language) {
  const chosen = catalogues[language] ?? catalogues.en;
  return (key, vars = {}) => {
    const text = chosen[key] ?? catalogues.en[key] ?? key;
    return text.replace(/\{(\w+)\}/g, (_, name) => String(vars[name] ?? ""));
  };
}

// Fill every [data-i18n] element's text, and [data-i18n-attr="attr:key,attr:key"] attributes.
export function translatePage(t, root = document) {
  for (const node of root.querySelectorAll("[data-i18n]")) node.textContent = t(node.dataset.i18n);
  for (const node of root.querySelectorAll("[data-i18n-attr]")) {
    for (const pair of node.dataset.i18nAttr.split(",")) {
      const [attr, key] = pair.split(":");
      node.setAttribute(attr, t(key));
    }
  }
}

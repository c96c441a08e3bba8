// A small promise wrapper around IndexedDB, usable from pages and service workers alike.
// One database per app ("alertd-app", "alertd-sro"): a key-value store ("kv": tokens, the
// chosen room, this device's id) and the alert outbox ("outbox", keyed by Idempotency-Key).

const VERSION = 1;

function promised(request) {
  return new Promise((resolve, reject) => {
    request.onsuccess = () => resolve(request.result);
    request.onerror = () => reject(request.error);
  });
}

export class Store {
  constructor(name) {
    this.name = name;
    this.opening = null;
  }

  open() {
    this.opening ??= new Promise((resolve, reject) => {
      const request = indexedDB.open(this.name, VERSION);
      request.onupgradeneeded = () => {
        const db = request.result;
        if (!db.objectStoreNames.contains("kv")) db.createObjectStore("kv");
        if (!db.objectStoreNames.contains("outbox")) db.createObjectStore("outbox", { keyPath: "key" });
      };
      request.onsuccess = () => resolve(request.result);
      request.onerror = () => reject(request.error);
    });
    return this.opening;
  }

  async run(storeName, mode, work) {
    const db = await this.open();
    const tx = db.transaction(storeName, mode);
    const result = await work(tx.objectStore(storeName));
    await new Promise((resolve, reject) => {
      tx.oncomplete = resolve;
      tx.onerror = () => reject(tx.error);
      tx.onabort = () => reject(tx.error);
    });
    return result;
  }

  get(key) { return this.run("kv", "readonly", (s) => promised(s.get(key))); }
  set(key, value) { return this.run("kv", "readwrite", (s) => promised(s.put(value, key))); }
  delete(key) { return this.run("kv", "readwrite", (s) => promised(s.delete(key))); }

  outbox() { return this.run("outbox", "readonly", (s) => promised(s.getAll())); }
  putOutbox(record) { return this.run("outbox", "readwrite", (s) => promised(s.put(record))); }
  getOutbox(key) { return this.run("outbox", "readonly", (s) => promised(s.get(key))); }
  deleteOutbox(key) { return this.run("outbox", "readwrite", (s) => promised(s.delete(key))); }
}

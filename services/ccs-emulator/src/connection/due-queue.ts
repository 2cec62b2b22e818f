/**
 * Items due at a time, kept in a binary min-heap and released by ONE timer (not one per item).
 * Equal due times keep their insertion order.
 */
export class DueQueue<T> {
  readonly #onDue: (item: T) => void;
  readonly #clock: () => number;
  #due: number[] = [];
  #seq: number[] = [];
  #items: T[] = [];
  #nextSeq = 0;
  #timer: NodeJS.Timeout | null = null;
  #timerAt = Number.POSITIVE_INFINITY;

  constructor(onDue: (item: T) => void, clock: () => number = Date.now) {
    this.#onDue = onDue;
    this.#clock = clock;
  }

  get size(): number {
    return this.#items.length;
  }

  schedule(dueAt: number, item: T): void {
    this.#due.push(dueAt);
    this.#seq.push(this.#nextSeq++);
    this.#items.push(item);
    this.#up(this.#items.length - 1);
    this.#arm();
  }

  /** Cancels everything; returns how many items were waiting. */
  clear(): number {
    const n = this.#items.length;
    this.#due = [];
    this.#seq = [];
    this.#items = [];
    if (this.#timer !== null) clearTimeout(this.#timer);
    this.#timer = null;
    this.#timerAt = Number.POSITIVE_INFINITY;
    return n;
  }

  #arm(): void {
    const first = this.#due[0];
    if (first === undefined) return;
    if (this.#timer !== null && this.#timerAt <= first) return;
    if (this.#timer !== null) clearTimeout(this.#timer);
    this.#timerAt = first;
    this.#timer = setTimeout(() => this.#fire(), Math.max(0, first - this.#clock()));
  }

  #fire(): void {
    this.#timer = null;
    this.#timerAt = Number.POSITIVE_INFINITY;
    const now = this.#clock();
    while (this.#items.length > 0 && (this.#due[0] ?? 0) <= now) {
      const item = this.#pop();
      if (item !== undefined) this.#onDue(item);
    }
    this.#arm();
  }

  #pop(): T | undefined {
    const top = this.#items[0];
    const last = this.#items.length - 1;
    this.#swap(0, last);
    this.#due.pop();
    this.#seq.pop();
    this.#items.pop();
    this.#down(0);
    return top;
  }

  #less(i: number, j: number): boolean {
    const a = this.#due[i] ?? 0;
    const b = this.#due[j] ?? 0;
    return a < b || (a === b && (this.#seq[i] ?? 0) < (this.#seq[j] ?? 0));
  }

  #swap(i: number, j: number): void {
    if (i === j) return;
    const d = this.#due[i] ?? 0;
    this.#due[i] = this.#due[j] ?? 0;
    this.#due[j] = d;
    const s = this.#seq[i] ?? 0;
    this.#seq[i] = this.#seq[j] ?? 0;
    this.#seq[j] = s;
    const it = this.#items[i] as T;
    this.#items[i] = this.#items[j] as T;
    this.#items[j] = it;
  }

  #up(i: number): void {
    while (i > 0) {
      const parent = (i - 1) >> 1;
      if (!this.#less(i, parent)) return;
      this.#swap(i, parent);
      i = parent;
    }
  }

  #down(i: number): void {
    const n = this.#items.length;
    for (;;) {
      const l = 2 * i + 1;
      const r = l + 1;
      let m = i;
      if (l < n && this.#less(l, m)) m = l;
      if (r < n && this.#less(r, m)) m = r;
      if (m === i) return;
      this.#swap(i, m);
      i = m;
    }
  }
}

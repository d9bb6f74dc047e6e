import { useId, useState } from 'react';
import { keepPreviousData, useQuery } from '@tanstack/react-query';
import { trpc } from '../lib/trpc';
import { useMe } from '../lib/auth';
import { useDebounced } from '../lib/hooks';
import { cn, formatDateTime } from '../lib/utils';
import { Input } from './ui/input';

/** an option's kind in words */
const KIND = { user: 'user', token: 'API token' } as const;
/** how many names the list offers at once (the first page of `audit.actors`: typing more narrows it) */
export const ACTOR_OPTIONS = 20;

/**
 * whether `name` begins with `q` as `audit.actors` tells (the store's namePrefixCondition): each character of `q`
 * matches itself and its one-character lower and upper case
 */
function beginsWith(name: string, q: string): boolean {
  const n = Array.from(name);
  return Array.from(q).every((ch, i) => {
    const c = n[i];
    if (c === undefined) return false;
    return c === ch || [ch.toLowerCase(), ch.toUpperCase()].some((f) => f === c && Array.from(f).length === 1);
  });
}

/**
 * The audit log's Actor field: a text field (a username, an API token's name or any actor id, as typed) with a
 * listbox of who acted in the log — the users and API tokens by name (`audit.actors`, readable by every viewer who
 * may read the log: an auditor too) — those whose name begins with what is typed: the server is asked with it
 * (`q`, once typing pauses) for the first {@link ACTOR_OPTIONS}, so a deployment's thousands of users are never read
 * whole; while the answer to what is typed now loads, the last answer's names that still begin with it are offered (no
 * other) under a loading note (the "more" note is the current answer's only). A click, or ↓/↑ and Enter, puts the
 * name in the field; Escape closes the list; Enter with no option chosen submits the form as before.
 */
export function ActorPicker({
  value,
  onChange,
  className,
}: {
  value: string;
  onChange: (value: string) => void;
  className?: string;
}) {
  const { can } = useMe();
  const [open, setOpen] = useState(false);
  const typed = useDebounced(value.trim(), 200);
  const actors = useQuery({
    ...trpc.audit.actors.queryOptions({ q: typed || undefined, limit: ACTOR_OPTIONS }),
    enabled: can('audit:read') && open,
    placeholderData: keepPreviousData,
  });
  const [active, setActive] = useState(-1);
  const listId = useId();
  // the previous answer stays while the next one loads (keepPreviousData): only its names that begin with what is
  // typed now are offered — ↓ and Enter never choose a name of an earlier prefix
  const now = value.trim();
  const options = (actors.data?.items ?? []).filter((a) => beginsWith(a.name, now));
  // the answer shown is the one to what is typed now (not the last answer while the next loads, nor before typing
  // pauses): only then does its nextCursor say whether more names begin with it; else the note says it is loading
  const current = !actors.isPlaceholderData && typed === now;
  const more = current && actors.data?.nextCursor != null;
  // two of one name and kind (two tokens named alike) are told apart by when each was made and its id's start
  const twin = (a: (typeof options)[number]) =>
    options.filter((o) => o.name === a.name && o.kind === a.kind).length > 1
      ? `created ${formatDateTime(a.createdAt)}, ${a.id.slice(0, 12)}…`
      : undefined;
  const kindText = (a: (typeof options)[number]) => [KIND[a.kind], twin(a)].filter(Boolean).join(', ');
  const shown = open && options.length > 0;
  const optionId = (i: number) => `${listId}-${i}`;
  const choose = (name: string) => {
    onChange(name);
    setOpen(false);
    setActive(-1);
  };
  return (
    <div className={cn('relative', className)}>
      <Input
        role="combobox"
        aria-label="Actor"
        aria-autocomplete="list"
        aria-expanded={shown}
        aria-controls={listId}
        aria-activedescendant={shown && active >= 0 ? optionId(active) : undefined}
        placeholder="actor: a username, token name or id"
        autoComplete="off"
        value={value}
        onChange={(e) => {
          onChange(e.target.value);
          setOpen(true);
          setActive(-1);
        }}
        onFocus={() => setOpen(true)}
        onBlur={() => setOpen(false)}
        onKeyDown={(e) => {
          if (e.key === 'ArrowDown' || e.key === 'ArrowUp') {
            e.preventDefault();
            if (!shown) {
              setOpen(true);
              return;
            }
            const step = e.key === 'ArrowDown' ? 1 : -1;
            setActive((i) => (i + step + options.length) % options.length);
          } else if (e.key === 'Enter' && shown && options[active]) {
            e.preventDefault();
            choose(options[active].name);
          } else if (e.key === 'Escape' && shown) {
            e.preventDefault();
            setOpen(false);
          }
        }}
        className="w-full"
      />
      <ul
        id={listId}
        role="listbox"
        aria-label="Actors"
        hidden={!shown}
        className={cn(
          'absolute top-full left-0 z-20 mt-1 max-h-64 w-full overflow-auto',
          'rounded-md border bg-card py-1 text-sm shadow-md',
        )}
      >
        {shown
          ? options.map((a, i) => (
              <li
                key={a.id}
                id={optionId(i)}
                role="option"
                aria-selected={i === active}
                aria-label={`${a.name} (${kindText(a)})`}
                data-actor-kind={a.kind}
                // keeps the focus in the field (no blur before the click)
                onMouseDown={(e) => e.preventDefault()}
                onClick={() => choose(a.name)}
                onMouseEnter={() => setActive(i)}
                className={cn(
                  'flex cursor-pointer items-baseline justify-between gap-2 px-3 py-1.5',
                  i === active && 'bg-accent text-accent-foreground',
                )}
              >
                <span className="truncate">{a.name}</span>
                <span className="shrink-0 text-xs text-muted-foreground">{kindText(a)}</span>
              </li>
            ))
          : null}
        {shown && more ? (
          <li role="presentation" className="px-3 py-1.5 text-xs text-muted-foreground" data-actor-more>
            more: type more of the name
          </li>
        ) : null}
        {shown && !current ? (
          <li role="presentation" className="px-3 py-1.5 text-xs text-muted-foreground" data-actor-loading>
            loading the names that begin with it…
          </li>
        ) : null}
      </ul>
    </div>
  );
}

import * as React from 'react';
import { Upload } from 'lucide-react';
import { Label, Textarea } from './ui/input';

/** a refusal shown under the field it is about: the server's code on the element, its message as the text */
export interface FieldError {
  code: string;
  title: string;
  message: string;
}

/**
 * A labelled control with a hint, or the server's refusal about it (`role="alert"`, `data-error-code`), wired to the
 * control by `aria-describedby` and `aria-invalid`.
 */
export function LabelledField(p: {
  id: string;
  label: string;
  hint?: React.ReactNode;
  error?: FieldError;
  /** beside the label (a file picker) */
  aside?: React.ReactNode;
  className?: string;
  children: (aria: { 'aria-describedby': string; 'aria-invalid': boolean }) => React.ReactNode;
}) {
  const note = `${p.id}-note`;
  return (
    <div className={p.className ? `grid gap-1.5 ${p.className}` : 'grid gap-1.5'}>
      <div className="flex flex-wrap items-baseline justify-between gap-2">
        <Label htmlFor={p.id}>{p.label}</Label>
        {p.aside}
      </div>
      {p.children({ 'aria-describedby': note, 'aria-invalid': !!p.error })}
      {p.error ? (
        <p id={note} className="text-xs text-destructive" role="alert" data-error-code={p.error.code}>
          <span className="font-medium">{p.error.title}:</span> {p.error.message}
        </p>
      ) : p.hint ? (
        <p id={note} className="text-xs text-muted-foreground">
          {p.hint}
        </p>
      ) : null}
    </div>
  );
}

/**
 * PEM text pasted, or read from a file the user picks (the file input is emptied after reading, so the browser keeps
 * no handle on it). `secret` (a private key): no autocomplete or spell check, and the text masked on screen.
 */
export function PemFileField(p: {
  id: string;
  label: string;
  hint?: React.ReactNode;
  error?: FieldError;
  value: string;
  onChange(pem: string): void;
  accept: string;
  fileLabel: string;
  placeholder: string;
  secret?: boolean;
  rows?: number;
}) {
  return (
    <LabelledField
      id={p.id}
      label={p.label}
      error={p.error}
      hint={p.hint}
      aside={
        <label
          className={
            'inline-flex cursor-pointer items-center gap-1 text-xs text-primary underline-offset-2 hover:underline'
          }
        >
          <Upload className="size-3" aria-hidden /> {p.fileLabel}
          <input
            type="file"
            accept={p.accept}
            className="sr-only"
            data-testid={`${p.id}-file`}
            onChange={async (e) => {
              const input = e.currentTarget;
              const f = input.files?.[0];
              if (f) p.onChange(await f.text());
              input.value = '';
            }}
          />
        </label>
      }
    >
      {(aria) => (
        <Textarea
          id={p.id}
          rows={p.rows ?? 6}
          className={p.secret ? 'font-mono text-[11px] [-webkit-text-security:disc]' : 'font-mono text-[11px]'}
          value={p.value}
          onChange={(e) => p.onChange(e.target.value)}
          placeholder={p.placeholder}
          spellCheck={false}
          autoComplete="off"
          autoCorrect="off"
          autoCapitalize="off"
          {...aria}
        />
      )}
    </LabelledField>
  );
}

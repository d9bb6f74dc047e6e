import * as React from 'react';
import { Field, Input, NativeSelect } from './ui/input';

type InputProps = Omit<React.InputHTMLAttributes<HTMLInputElement>, 'id' | 'value' | 'onChange'>;

/** A labelled text input bound to a string state. */
export function TextField({
  id,
  label,
  hint,
  value,
  onChange,
  className,
  ...input
}: InputProps & { id: string; label: string; hint?: React.ReactNode; value: string; onChange: (v: string) => void }) {
  return (
    <Field label={label} htmlFor={id} hint={hint} className={className}>
      <Input id={id} value={value} onChange={(e) => onChange(e.target.value)} {...input} />
    </Field>
  );
}

export type Option<V extends string> = V | { value: V; label: string };

/** A labelled select over a fixed list of values (or `{ value, label }` pairs). */
export function SelectField<V extends string>({
  id,
  label,
  hint,
  value,
  onChange,
  options,
  className,
  disabled,
}: {
  id: string;
  label: string;
  hint?: React.ReactNode;
  value: V;
  onChange: (v: V) => void;
  options: readonly Option<V>[];
  className?: string;
  disabled?: boolean;
}) {
  return (
    <Field label={label} htmlFor={id} hint={hint} className={className}>
      <SelectInput id={id} value={value} onChange={onChange} options={options} disabled={disabled} />
    </Field>
  );
}

/** A select without a visible label (table cells, toolbars): pass `aria-label`. */
export function SelectInput<V extends string>({
  value,
  onChange,
  options,
  className,
  ...rest
}: Omit<React.SelectHTMLAttributes<HTMLSelectElement>, 'value' | 'onChange'> & {
  value: V;
  onChange: (v: V) => void;
  options: readonly Option<V>[];
}) {
  return (
    <NativeSelect value={value} onChange={(e) => onChange(e.target.value as V)} className={className} {...rest}>
      {options.map((o) => {
        const { value: v, label } = typeof o === 'string' ? { value: o, label: o } : o;
        return (
          <option key={v} value={v}>
            {label}
          </option>
        );
      })}
    </NativeSelect>
  );
}

/** `<option>`s of the leaf profiles (a CA profile is never offered for an end-entity certificate) */
export function LeafProfileOptions({ profiles }: { profiles: readonly { name: string; isCa: boolean }[] | undefined }) {
  return (profiles ?? [])
    .filter((p) => !p.isCa)
    .map((p) => (
      <option key={p.name} value={p.name}>
        {p.name}
      </option>
    ));
}

/** A validity in whole days (empty: the profile's default): the error to show, or the `ttl` the API takes (`<n>d`). */
export function validityDaysTtl(days: string): { error: string | null; ttl?: string } {
  const v = days.trim();
  if (!v) return { error: null };
  if (!/^[1-9]\d{0,4}$/.test(v)) return { error: 'Validity: a whole number of days, 1 or more' };
  return { error: null, ttl: `${Number(v)}d` };
}

/** A labelled number input for a validity in days, showing validityDaysTtl's error. */
export function ValidityDaysField({
  id,
  hint,
  value,
  onChange,
}: {
  id: string;
  hint: string;
  value: string;
  onChange: (v: string) => void;
}) {
  const { error } = validityDaysTtl(value);
  return (
    <Field label="Validity (days)" htmlFor={id} hint={hint} error={error ?? undefined}>
      <Input
        id={id}
        type="number"
        min={1}
        value={value}
        onChange={(e) => onChange(e.target.value)}
        placeholder="default"
      />
    </Field>
  );
}

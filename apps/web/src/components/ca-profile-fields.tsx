import { useSuspenseQuery } from '@tanstack/react-query';
import { trpc } from '../lib/trpc';
import { Field, Input, NativeSelect } from './ui/input';

export interface CaProfileValue {
  caId: string;
  profile: string;
  validityDays: string;
}

/** Issuing CA, profile and validity, shared by the issue and request forms. */
export function CaProfileFields({
  value,
  onChange,
  idPrefix,
}: {
  value: CaProfileValue;
  onChange: (v: CaProfileValue) => void;
  idPrefix: string;
}) {
  const {
    data: { items: cas },
  } = useSuspenseQuery(trpc.ca.list.queryOptions());
  const { data: profiles } = useSuspenseQuery(trpc.insights.profiles.queryOptions());
  const active = cas.filter((c) => c.status === 'active');
  const leaf = profiles.items.filter((p) => !p.isCa);
  const profile = leaf.find((p) => p.name === value.profile);
  return (
    <div className="grid gap-4 sm:grid-cols-3">
      <Field label="Issuing CA" htmlFor={`${idPrefix}-ca`}>
        <NativeSelect
          id={`${idPrefix}-ca`}
          value={value.caId}
          onChange={(e) => onChange({ ...value, caId: e.target.value })}
          required
        >
          <option value="" disabled>
            Choose a CA…
          </option>
          {active.map((c) => (
            <option key={c.id} value={c.id}>
              {c.name}
            </option>
          ))}
        </NativeSelect>
      </Field>
      <Field label="Profile" htmlFor={`${idPrefix}-profile`} hint={profile ? profileHint(profile) : undefined}>
        <NativeSelect
          id={`${idPrefix}-profile`}
          value={value.profile}
          onChange={(e) => onChange({ ...value, profile: e.target.value })}
        >
          {leaf.map((p) => (
            <option key={p.name} value={p.name}>
              {p.name}
            </option>
          ))}
        </NativeSelect>
      </Field>
      <Field
        label="Validity (days)"
        htmlFor={`${idPrefix}-validity`}
        hint={profile ? `Default ${profile.defaultLifetime}, at most ${profile.maxLifetime}` : undefined}
      >
        <Input
          id={`${idPrefix}-validity`}
          type="number"
          min={1}
          value={value.validityDays}
          onChange={(e) => onChange({ ...value, validityDays: e.target.value })}
          placeholder="default"
        />
      </Field>
    </div>
  );
}

/** the profile's description, and the custom EKU OIDs and certificate policies its certificates carry */
function profileHint(p: {
  description: string | null;
  extKeyUsageOids: string[];
  certificatePolicies: { oid: string }[];
}): string | undefined {
  const parts = [
    p.description ?? '',
    p.extKeyUsageOids.length ? `EKU OIDs ${p.extKeyUsageOids.join(', ')}` : '',
    p.certificatePolicies.length ? `policies ${p.certificatePolicies.map((c) => c.oid).join(', ')}` : '',
  ].filter(Boolean);
  return parts.length ? parts.join(' · ') : undefined;
}

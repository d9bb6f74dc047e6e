import { useNavigate, useSearch } from '@tanstack/react-router';
import { PageHeader } from '../components/page';
import { Tabs, TabsContent, TabsList, TabsTrigger } from '../components/ui/tabs';
import { CasTab, CertificatesTab, KrlTab } from './ssh/ssh-ca-tabs';
import { EnvironmentsTab, HostsTab } from './ssh/ssh-registry-tabs';
import { BlocksTab, PrincipalsTab, UsersTab } from './ssh/ssh-people-tabs';
import { FleetTokensTab } from './ssh/ssh-fleet-tab';
import { SSH_TAB_IDS, isSshTab, type SshTab } from './ssh/ssh-tabs';

const TABS: Record<SshTab, { label: string; Tab: () => React.JSX.Element }> = {
  cas: { label: 'CAs', Tab: CasTab },
  certificates: { label: 'Certificates', Tab: CertificatesTab },
  krl: { label: 'KRL', Tab: KrlTab },
  environments: { label: 'Environments', Tab: EnvironmentsTab },
  hosts: { label: 'Hosts', Tab: HostsTab },
  users: { label: 'Users', Tab: UsersTab },
  principals: { label: 'Principals', Tab: PrincipalsTab },
  blocks: { label: 'Access blocks', Tab: BlocksTab },
  fleet: { label: 'Fleet tokens', Tab: FleetTokensTab },
};

export function SshPage() {
  const { tab } = useSearch({ from: '/app/ssh' });
  const navigate = useNavigate({ from: '/ssh' });
  return (
    <div>
      <PageHeader
        title="SSH certificate authority"
        description="User and host CAs per environment, their certificates and KRLs, and who may log in where"
      />
      <Tabs
        value={tab ?? 'cas'}
        onValueChange={(v) => void navigate({ search: { tab: isSshTab(v) && v !== 'cas' ? v : undefined } })}
      >
        <TabsList className="h-auto flex-wrap">
          {SSH_TAB_IDS.map((value) => (
            <TabsTrigger key={value} value={value}>
              {TABS[value].label}
            </TabsTrigger>
          ))}
        </TabsList>
        {SSH_TAB_IDS.map((value) => {
          const { Tab } = TABS[value];
          return (
            <TabsContent key={value} value={value}>
              <Tab />
            </TabsContent>
          );
        })}
      </Tabs>
    </div>
  );
}

import { Download } from 'lucide-react';
import { downloadText } from '../lib/utils';
import { Button } from './ui/button';
import { CopyButton } from './ui/copy-button';

export function PemBlock({ pem, filename, label }: { pem: string; filename: string; label: string }) {
  return (
    <div className="min-w-0 space-y-2">
      <div className="flex flex-wrap items-center gap-2">
        <span className="text-sm font-medium">{label}</span>
        <div className="ml-auto flex gap-2">
          <CopyButton text={pem} />
          <Button variant="outline" size="sm" onClick={() => downloadText(filename, pem)}>
            <Download /> {filename}
          </Button>
        </div>
      </div>
      <pre className="max-h-64 overflow-auto rounded-md border bg-muted/40 p-3 font-mono text-[11px] leading-relaxed">
        {pem.trim()}
      </pre>
    </div>
  );
}

import { Stack, Validations } from 'aws-cdk-lib';
import type { Grant, PolicyStatement } from 'aws-cdk-lib/aws-iam';
import type { IConstruct } from 'constructs';

const acknowledged = new WeakMap<IConstruct, Set<string>>();

/**
 * Acknowledges, on `scope`, exactly the AwsSolutions-IAM5 findings that `grant` produced: each wildcard action and
 * each wildcard resource by the id cdk-nag 3 gives it (cdk-nag 3 has no prefix match, and a blanket
 * acknowledgement would also hide wildcards someone adds later).
 */
export function acknowledgeGrantWildcards(scope: IConstruct, grant: Grant, reason: string): void {
  acknowledgeWildcards(scope, grant.principalStatements, reason);
}

/** Same, for policy statements built by hand. */
export function acknowledgeWildcards(
  scope: IConstruct,
  statements: readonly PolicyStatement[],
  reason: string,
): void {
  const stack = Stack.of(scope);
  const seen = acknowledged.get(scope) ?? new Set<string>();
  acknowledged.set(scope, seen);
  for (const statement of statements) {
    const findings = [
      ...statement.actions.filter((a) => a.includes('*')).map((a) => `Action::${a}`),
      ...statement.resources
        .map((r) => flattenCfnReference(stack.resolve(r)))
        .filter((r) => r.includes('*'))
        .map((r) => `Resource::${r}`),
    ];
    for (const finding of findings) {
      const id = `AwsSolutions-IAM5[${finding}]`;
      if (seen.has(id)) continue;
      seen.add(id);
      Validations.of(scope).acknowledge({ id, reason });
    }
  }
}

/** The flat form cdk-nag 3 uses in finding ids: Fn::Join joined, Ref → <Name>, Fn::GetAtt → <Name.Attr>. */
export function flattenCfnReference(node: unknown): string {
  if (node === undefined) return '';
  if (typeof node === 'string') return node.replace(/\$\{/g, '<').replace(/\}/g, '>');
  if (typeof node === 'object' && node !== null) {
    const o = node as Record<string, unknown>;
    if (o['Fn::Join']) {
      const [delimiter, items] = o['Fn::Join'] as [string, unknown[]];
      return items.map(flattenCfnReference).join(delimiter);
    }
    if (o['Fn::Sub']) return flattenCfnReference(o['Fn::Sub']);
    if (o['Fn::GetAtt']) {
      const [resource, attribute] = o['Fn::GetAtt'] as [unknown, unknown];
      return `<${flattenCfnReference(resource)}.${flattenCfnReference(attribute)}>`;
    }
    if (o['Fn::ImportValue']) return flattenCfnReference(o['Fn::ImportValue']);
    if (o.Ref) return `<${flattenCfnReference(o.Ref)}>`;
  }
  return JSON.stringify(node);
}

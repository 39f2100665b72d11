import { Stack } from 'aws-cdk-lib';
import type { IConstruct } from 'constructs';

/** A resolved CloudFormation value as cdk-nag spells it in a finding id: Ref and GetAtt in angle brackets, Fn::Join joined. */
function flatten(value: unknown): string {
  if (typeof value === 'string') return value.replace(/\$\{/g, '<').replace(/\}/g, '>');
  if (typeof value === 'object' && value !== null) {
    const { Ref: ref, 'Fn::Join': join, 'Fn::GetAtt': getAtt } = value as { Ref?: unknown; 'Fn::Join'?: unknown; 'Fn::GetAtt'?: unknown };
    if (typeof ref === 'string') return `<${ref}>`;
    if (Array.isArray(getAtt) && getAtt.length === 2) return `<${flatten(getAtt[0])}.${flatten(getAtt[1])}>`;
    if (Array.isArray(join) && typeof join[0] === 'string' && Array.isArray(join[1])) return (join[1] as unknown[]).map(flatten).join(join[0]);
  }
  throw new Error(`cannot name a cdk-nag finding for ${JSON.stringify(value)}: only strings, Ref, Fn::GetAtt and Fn::Join are spelled out`);
}

/** The AwsSolutions-IAM5 finding id of a wildcard resource, as cdk-nag reports it: `AwsSolutions-IAM5[Resource::<arn>]`. */
export function wildcardResourceFinding(scope: IConstruct, resource: string): string {
  return `AwsSolutions-IAM5[Resource::${flatten(Stack.of(scope).resolve(resource))}]`;
}

/** Actions granted on Resource * and why a step calls them: the words of its AwsSolutions-IAM5 acknowledgement. */
export interface UnscopedGrant {
  /** The actions allowed on Resource *. */
  readonly actions: readonly string[];
  /** Why they cannot be scoped, in the acknowledgement's words. */
  readonly why: string;
}

/** The reason of an AwsSolutions-IAM5[Resource::*] acknowledgement: every action granted on *, by name and why, then what is scoped. */
export function unscopedReason(grants: readonly UnscopedGrant[], scoped: string): string {
  const named = grants.map((grant) => `${grant.actions.join(', ')} (${grant.why})`).join('; ');
  return `Resource * only for ${named}. ${scoped}`;
}

//! A pre-instantiated component of either contract version, called in 0.2.0 terms.
//!
//! The host never asks a component for an operation it does not announce (0.1.0
//! components announce none of 0.2.0's), so the 0.1.0 arms of [`ProviderPre::call`] only
//! exist for the four events and `test-connection`.

use crate::contract::{
    CertificateReport, DnsRecord, Outcome, PanelDomain, ProviderError, ProviderMetadata, Version,
    from_v0_1, since_v0_1_0, since_v0_2_0,
};
use crate::runtime::instance::HostState;
use crate::runtime::operation::Operation;
use anyhow::Result;
use wasmtime::Store;
use wasmtime::component::InstancePre;

pub enum ProviderPre {
    V0_1(since_v0_1_0::DomainProviderPre<HostState>),
    V0_2(since_v0_2_0::DomainProviderPre<HostState>),
}

/// A successful call's answer.
pub enum Reply {
    Outcome(Outcome),
    Domains(Vec<PanelDomain>),
    Certificate(CertificateReport),
    Records(Vec<DnsRecord>),
}

fn unsupported(op: &Operation) -> ProviderError {
    ProviderError::Unsupported(format!("contract 0.1.0 has no {}", op.name()))
}

impl ProviderPre {
    pub fn new(version: Version, pre: InstancePre<HostState>) -> Result<Self> {
        Ok(match version {
            Version::V0_1 => ProviderPre::V0_1(since_v0_1_0::DomainProviderPre::new(pre)?),
            Version::V0_2 => ProviderPre::V0_2(since_v0_2_0::DomainProviderPre::new(pre)?),
        })
    }

    pub async fn metadata(
        &self,
        store: &mut Store<HostState>,
    ) -> wasmtime::Result<ProviderMetadata> {
        Ok(match self {
            ProviderPre::V0_1(pre) => {
                let instance = pre.instantiate_async(&mut *store).await?;
                let provider = instance.multisite_domain_provider_provider();
                from_v0_1::metadata(provider.call_metadata(&mut *store).await?)
            }
            ProviderPre::V0_2(pre) => {
                let instance = pre.instantiate_async(&mut *store).await?;
                let provider = instance.multisite_domain_provider_provider();
                provider.call_metadata(&mut *store).await?
            }
        })
    }

    /// Instantiates into `store` and drops the instance (benchmarks).
    pub async fn instantiate(&self, store: &mut Store<HostState>) -> wasmtime::Result<()> {
        match self {
            ProviderPre::V0_1(pre) => {
                pre.instantiate_async(store).await?;
            }
            ProviderPre::V0_2(pre) => {
                pre.instantiate_async(store).await?;
            }
        }
        Ok(())
    }

    /// Instantiates into `store` and runs one operation.
    pub async fn call(
        &self,
        store: &mut Store<HostState>,
        op: &Operation,
    ) -> wasmtime::Result<Result<Reply, ProviderError>> {
        match self {
            ProviderPre::V0_1(pre) => {
                let instance = pre.instantiate_async(&mut *store).await?;
                let p = instance.multisite_domain_provider_provider();
                let s = &mut *store;
                let result = match op {
                    Operation::TestConnection => p.call_test_connection(s).await?,
                    Operation::AddDomain(e) => p.call_add_domain(s, &from_v0_1::event(e)).await?,
                    Operation::RemoveDomain(e) => {
                        p.call_remove_domain(s, &from_v0_1::event(e)).await?
                    }
                    // 0.1.0 promised `www = false` for subdomain events.
                    Operation::AddSubdomain(e) => {
                        p.call_add_subdomain(s, &from_v0_1::subdomain_event(e))
                            .await?
                    }
                    Operation::RemoveSubdomain(e) => {
                        p.call_remove_subdomain(s, &from_v0_1::subdomain_event(e))
                            .await?
                    }
                    other => return Ok(Err(unsupported(other))),
                };
                Ok(from_v0_1::result(result).map(Reply::Outcome))
            }
            ProviderPre::V0_2(pre) => {
                let instance = pre.instantiate_async(&mut *store).await?;
                let p = instance.multisite_domain_provider_provider();
                let s = &mut *store;
                Ok(match op {
                    Operation::TestConnection => {
                        p.call_test_connection(s).await?.map(Reply::Outcome)
                    }
                    Operation::AddDomain(e) => p.call_add_domain(s, e).await?.map(Reply::Outcome),
                    Operation::RemoveDomain(e) => {
                        p.call_remove_domain(s, e).await?.map(Reply::Outcome)
                    }
                    Operation::AddSubdomain(e) => {
                        p.call_add_subdomain(s, e).await?.map(Reply::Outcome)
                    }
                    Operation::RemoveSubdomain(e) => {
                        p.call_remove_subdomain(s, e).await?.map(Reply::Outcome)
                    }
                    Operation::ListDomains => p.call_list_domains(s).await?.map(Reply::Domains),
                    Operation::RequestCertificate(e) => {
                        p.call_request_certificate(s, e).await?.map(Reply::Outcome)
                    }
                    Operation::CertificateStatus(e) => p
                        .call_certificate_status(s, e)
                        .await?
                        .map(Reply::Certificate),
                    Operation::DnsRequirements(e) => {
                        p.call_dns_requirements(s, e).await?.map(Reply::Records)
                    }
                })
            }
        }
    }
}
